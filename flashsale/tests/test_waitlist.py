"""The waitlist: returning units go to the first in line as a short hold, in order."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from flashsale import services
from flashsale.checks import stock_discrepancies
from flashsale.errors import SaleNotLive, WaitlistRefused
from flashsale.models import (
    FlashSale,
    Hold,
    HoldSource,
    HoldStatus,
    SaleItem,
    WaitlistEntry,
    WaitlistStatus,
)
from flashsale.selectors import user_waitlist_positions
from flashsale.tests.factories import UserFactory, item_make

pytestmark = pytest.mark.django_db


def sold_out_item(total=1, per_user_limit=1):
    item = item_make(total=total, per_user_limit=per_user_limit)
    holder = UserFactory()
    hold, _ = services.hold_create(user=holder, item_id=item.pk, quantity=total)
    return item, hold


def run_out(hold):
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_joining_the_line_of_a_sold_out_item_keeps_one_place(buyer):
    item, _ = sold_out_item()
    first_in_line = UserFactory()
    services.waitlist_join(user=first_in_line, item=item)

    entry = services.waitlist_join(user=buyer, item=item)
    again = services.waitlist_join(user=buyer, item=item)

    assert again.pk == entry.pk
    assert WaitlistEntry.objects.filter(item=item, status=WaitlistStatus.WAITING).count() == 2
    assert user_waitlist_positions(user=buyer, item_ids=[item.pk]) == {item.pk: 2}
    assert user_waitlist_positions(user=first_in_line, item_ids=[item.pk]) == {item.pk: 1}


def test_an_item_in_stock_has_no_waitlist(buyer, item):
    with pytest.raises(WaitlistRefused, match="still in stock"):
        services.waitlist_join(user=buyer, item=item)

    assert WaitlistEntry.objects.count() == 0


def test_an_ended_sale_has_no_waitlist(buyer):
    item, _ = sold_out_item()
    FlashSale.objects.filter(pk=item.sale_id).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )
    item.refresh_from_db()

    with pytest.raises(SaleNotLive):
        services.waitlist_join(user=buyer, item=item)


def test_an_expired_unit_is_held_for_the_first_in_line_not_put_back(settings):
    # given a sold-out item and two people waiting
    settings.FLASH_WAITLIST_PRIORITY_SECONDS = 90
    item, hold = sold_out_item()
    first, second = UserFactory(), UserFactory()
    services.waitlist_join(user=first, item=item)
    services.waitlist_join(user=second, item=item)

    # when the hold runs out and the job runs
    run_out(hold)
    services.holds_expire_overdue()

    # then the unit is held for the first in line for 90 s, and nobody else can take it
    offer = Hold.objects.get(user=first)
    assert (offer.source, offer.status, offer.quantity) == (HoldSource.WAITLIST, "active", 1)
    assert (offer.expires_at - offer.created_at).total_seconds() == 90
    assert SaleItem.objects.get(pk=item.pk).available == 0
    statuses = dict(WaitlistEntry.objects.values_list("user_id", "status"))
    assert statuses == {first.pk: WaitlistStatus.OFFERED, second.pk: WaitlistStatus.WAITING}
    assert stock_discrepancies() == (1, [])


def test_an_offer_that_lapses_goes_to_the_next_in_line():
    item, hold = sold_out_item()
    first, second = UserFactory(), UserFactory()
    services.waitlist_join(user=first, item=item)
    services.waitlist_join(user=second, item=item)
    run_out(hold)
    services.holds_expire_overdue()

    run_out(Hold.objects.get(user=first))
    services.holds_expire_overdue()

    assert Hold.objects.get(user=first).status == HoldStatus.EXPIRED
    assert Hold.objects.get(user=second).status == HoldStatus.ACTIVE
    assert SaleItem.objects.get(pk=item.pk).available == 0
    assert stock_discrepancies() == (1, [])


def test_people_at_their_limit_are_skipped(buyer):
    # given the buyer already holds the one unit they may have, and waits for more
    item = item_make(total=2, per_user_limit=1)
    services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    other_hold, _ = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)
    services.waitlist_join(user=buyer, item=item)
    patient = UserFactory()
    services.waitlist_join(user=patient, item=item)

    # when the other hold is released
    services.hold_release(user=other_hold.user, hold_id=other_hold.pk)

    # then the buyer is skipped and the next person gets it
    statuses = dict(WaitlistEntry.objects.values_list("user_id", "status"))
    assert statuses == {buyer.pk: WaitlistStatus.SKIPPED, patient.pk: WaitlistStatus.OFFERED}
    assert Hold.objects.get(user=patient).source == HoldSource.WAITLIST


def test_restocked_units_serve_the_line_first_and_the_rest_go_on_sale():
    item, _ = sold_out_item()
    waiting = UserFactory()
    services.waitlist_join(user=waiting, item=item)

    with transaction.atomic():
        services.item_restock(
            item=SaleItem.objects.select_related("sale").get(pk=item.pk), quantity=3
        )

    item.refresh_from_db()
    assert (item.total, item.available) == (4, 2)
    assert Hold.objects.get(user=waiting).source == HoldSource.WAITLIST
    assert stock_discrepancies() == (1, [])


def test_leaving_the_line(buyer):
    item, hold = sold_out_item()
    services.waitlist_join(user=buyer, item=item)

    assert services.waitlist_leave(user=buyer, item=item) == 1
    run_out(hold)
    services.holds_expire_overdue()

    assert not Hold.objects.filter(user=buyer).exists()
    assert SaleItem.objects.get(pk=item.pk).available == 1
