"""Holds: take stock once, give it back once (release, expiry), refuse bad input cleanly."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from flashsale import services
from flashsale.checks import stock_discrepancies
from flashsale.errors import (
    HoldClosed,
    HoldExpired,
    HoldNotFound,
    InvalidQuantity,
    ItemNotFound,
    PerUserLimitReached,
    SaleNotLive,
    SoldOut,
)
from flashsale.models import (
    CounterName,
    EventKind,
    Hold,
    HoldStatus,
    InventoryEvent,
    PurchaseAllowance,
    SaleCounter,
    SaleItem,
    SaleStatus,
)
from flashsale.tests.factories import FlashSaleFactory, UserFactory, item_make
from wallet.errors import IdempotencyConflict

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("hold_write_path")]


def snapshot(item):
    """Everything a refused request must leave as it was."""
    item.refresh_from_db()
    return (
        item.available,
        Hold.objects.filter(item=item).count(),
        InventoryEvent.objects.filter(item=item).count(),
        list(PurchaseAllowance.objects.filter(item=item).values_list("user_id", "taken")),
    )


def counter(item, name) -> int:
    return sum(SaleCounter.objects.filter(item=item, name=name).values_list("value", flat=True))


def overdue(hold, seconds=1):
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=seconds))


def test_a_hold_takes_units_for_two_minutes_and_records_it(buyer, item, settings):
    # given 10 units
    before = timezone.now()

    # when the buyer holds 2
    hold, created = services.hold_create(user=buyer, item_id=item.pk, quantity=2)

    # then 8 are left, the hold runs for FLASH_HOLD_SECONDS and the event says -2
    item.refresh_from_db()
    assert created is True
    assert (item.available, item.total) == (8, 10)
    assert (hold.status, hold.quantity, hold.user_id) == (HoldStatus.ACTIVE, 2, buyer.pk)
    length = (hold.expires_at - hold.created_at).total_seconds()
    assert length == settings.FLASH_HOLD_SECONDS == 120
    assert hold.created_at >= before
    event = InventoryEvent.objects.get(item=item, kind=EventKind.HOLD_CREATED)
    assert (event.delta, event.hold_id) == (-2, hold.pk)
    assert PurchaseAllowance.objects.get(item=item, user=buyer).taken == 2
    assert stock_discrepancies() == (1, [])


@pytest.mark.parametrize(
    "quantity, message",
    [
        (0, "at least 1"),
        (-3, "at least 1"),
        ("2", "whole number"),
        (2.0, "whole number"),
        (True, "whole number"),
        (3, "At most 2 per customer"),
    ],
)
def test_bad_quantities_are_refused_and_change_nothing(buyer, item, quantity, message):
    before = snapshot(item)

    with pytest.raises(InvalidQuantity, match=message):
        services.hold_create(user=buyer, item_id=item.pk, quantity=quantity)

    assert snapshot(item) == before


def test_more_than_the_sale_has_is_refused(buyer):
    item = item_make(total=3, per_user_limit=5)
    before = snapshot(item)

    with pytest.raises(InvalidQuantity, match="only 3"):
        services.hold_create(user=buyer, item_id=item.pk, quantity=4)

    assert snapshot(item) == before


def test_more_than_is_left_is_sold_out_and_counted_as_an_oversell_attempt(buyer):
    # given 1 unit left of 10
    item = item_make(total=10, per_user_limit=5)
    other = UserFactory()
    services.hold_create(user=other, item_id=item.pk, quantity=5)
    services.hold_create(user=UserFactory(), item_id=item.pk, quantity=4)
    before = snapshot(item)

    # when the buyer asks for 2
    with pytest.raises(SoldOut, match="Only 1"):
        services.hold_create(user=buyer, item_id=item.pk, quantity=2)

    # then nothing moved, and the refusal is counted
    assert snapshot(item) == before
    assert counter(item, CounterName.OVERSELL_BLOCKED) == 1


@pytest.mark.parametrize(
    "sale_kwargs, error",
    [
        ({"starts_at": timezone.now() + timedelta(hours=1)}, "starts at"),
        (
            {
                "starts_at": timezone.now() - timedelta(hours=2),
                "ends_at": timezone.now() - timedelta(hours=1),
            },
            "has ended",
        ),
        ({"status": SaleStatus.CANCELLED}, "is not open"),
    ],
)
def test_holds_outside_the_sale_window_are_refused(buyer, sale_kwargs, error):
    item = item_make(sale=FlashSaleFactory(**sale_kwargs), total=5)
    before = snapshot(item)

    with pytest.raises(SaleNotLive, match=error):
        services.hold_create(user=buyer, item_id=item.pk, quantity=1)

    assert snapshot(item) == before


def test_unknown_and_draft_items_are_not_found(buyer):
    draft = item_make(sale=FlashSaleFactory(status=SaleStatus.DRAFT), total=5)

    with pytest.raises(ItemNotFound):
        services.hold_create(user=buyer, item_id=draft.pk, quantity=1)
    with pytest.raises(ItemNotFound):
        services.hold_create(user=buyer, item_id=999_999, quantity=1)

    assert SaleItem.objects.get(pk=draft.pk).available == 5


def test_the_per_customer_limit_counts_every_hold_of_the_item(buyer, item):
    services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    before = snapshot(item)

    with pytest.raises(PerUserLimitReached, match="most allowed \\(2\\)"):
        services.hold_create(user=buyer, item_id=item.pk, quantity=2)

    assert snapshot(item) == before


def test_the_same_request_key_returns_the_first_hold(buyer, item):
    first, created = services.hold_create(user=buyer, item_id=item.pk, quantity=1, request_key="k1")

    again, created_again = services.hold_create(
        user=buyer, item_id=item.pk, quantity=1, request_key="k1"
    )

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert SaleItem.objects.get(pk=item.pk).available == 9
    with pytest.raises(IdempotencyConflict):
        services.hold_create(user=buyer, item_id=item.pk, quantity=2, request_key="k1")


def test_a_repeat_after_the_item_sold_out_still_gets_its_first_hold(buyer):
    item = item_make(total=1)
    first, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1, request_key="k1")

    again, created = services.hold_create(user=buyer, item_id=item.pk, quantity=1, request_key="k1")
    with pytest.raises(SoldOut):
        services.hold_create(user=buyer, item_id=item.pk, quantity=1, request_key="k2")

    assert (again.pk, created) == (first.pk, False)
    assert SaleItem.objects.get(pk=item.pk).available == 0
    # the repeat was no oversell attempt; the other request was
    counted = SaleCounter.objects.filter(item=item, name=CounterName.OVERSELL_BLOCKED)
    assert sum(counted.values_list("value", flat=True)) == 1


def test_a_sold_out_item_with_an_overdue_hold_sells_that_unit_again(buyer):
    # given the only unit is held by someone whose time ran out, and no job has run
    item = item_make(total=1)
    late, _ = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)
    overdue(late)

    # when the buyer asks for it
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)

    # then the overdue hold expires on the spot and the unit is the buyer's
    late.refresh_from_db()
    assert late.status == HoldStatus.EXPIRED
    assert hold.status == HoldStatus.ACTIVE
    assert SaleItem.objects.get(pk=item.pk).available == 0
    assert stock_discrepancies() == (1, [])


def test_the_buyers_own_overdue_hold_does_not_count_against_the_limit(buyer, item):
    old, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=2)
    overdue(old)

    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=2)

    assert hold.quantity == 2
    assert PurchaseAllowance.objects.get(item=item, user=buyer).taken == 2
    assert SaleItem.objects.get(pk=item.pk).available == 8


def test_release_gives_the_units_back_once(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=2)

    services.hold_release(user=buyer, hold_id=hold.pk)
    services.hold_release(user=buyer, hold_id=hold.pk)  # a second click changes nothing

    hold.refresh_from_db()
    assert hold.status == HoldStatus.RELEASED
    assert SaleItem.objects.get(pk=item.pk).available == 10
    assert InventoryEvent.objects.filter(item=item, kind=EventKind.HOLD_RELEASED).count() == 1
    assert PurchaseAllowance.objects.get(item=item, user=buyer).taken == 0
    assert stock_discrepancies() == (1, [])


def test_nobody_releases_someone_elses_hold(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    before = snapshot(item)

    with pytest.raises(HoldNotFound):
        services.hold_release(user=UserFactory(), hold_id=hold.pk)
    with pytest.raises(HoldNotFound):
        services.hold_release(user=buyer, hold_id=999_999)

    assert snapshot(item) == before


def test_releasing_an_overdue_hold_expires_it_instead(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    overdue(hold)

    with pytest.raises(HoldExpired):
        services.hold_release(user=buyer, hold_id=hold.pk)

    hold.refresh_from_db()
    assert hold.status == HoldStatus.EXPIRED
    assert SaleItem.objects.get(pk=item.pk).available == 10


def test_a_paid_hold_cannot_be_released(buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    services.hold_checkout(user=buyer, hold_id=hold.pk)
    before = snapshot(item)

    with pytest.raises(HoldClosed):
        services.hold_release(user=buyer, hold_id=hold.pk)

    assert snapshot(item) == before


def test_the_expiry_job_returns_overdue_units_once_and_leaves_the_rest(buyer, item):
    # given one overdue hold and one still running
    late, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=2)
    fresh, _ = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)
    overdue(late)

    # when the job runs twice
    first = services.holds_expire_overdue()
    second = services.holds_expire_overdue()

    # then only the overdue hold expired, once
    assert (first, second) == (1, 0)
    statuses = dict(Hold.objects.values_list("pk", "status"))
    assert statuses == {late.pk: HoldStatus.EXPIRED, fresh.pk: HoldStatus.ACTIVE}
    assert SaleItem.objects.get(pk=item.pk).available == 9
    assert InventoryEvent.objects.filter(kind=EventKind.HOLD_EXPIRED).count() == 1
    assert stock_discrepancies() == (1, [])


def test_the_beat_task_expires_and_records_its_run(buyer, item):
    from flashsale.tasks import holds_expire
    from flexpass.jobs import job_last_run

    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    overdue(hold)

    assert holds_expire.apply().get() == 1
    assert job_last_run("flashsale-expire-holds") is not None


def test_restock_adds_units_and_total(item):
    with transaction.atomic():
        services.item_restock(item=item, quantity=5)

    item.refresh_from_db()
    assert (item.available, item.total) == (15, 15)
    assert stock_discrepancies() == (1, [])


def test_the_database_refuses_stock_above_total_or_below_zero(item):
    with pytest.raises(IntegrityError), transaction.atomic():
        SaleItem.objects.filter(pk=item.pk).update(available=11)
    with pytest.raises(IntegrityError), transaction.atomic():
        SaleItem.objects.filter(pk=item.pk).update(available=-1)

    assert SaleItem.objects.get(pk=item.pk).available == 10


def test_inventory_events_cannot_be_edited_or_deleted(item):
    event = InventoryEvent.objects.get(item=item)

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        InventoryEvent.objects.filter(pk=event.pk).update(delta=1_000)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        InventoryEvent.objects.filter(pk=event.pk).delete()

    assert InventoryEvent.objects.get(pk=event.pk).delta == 10


def test_a_read_expires_a_small_batch_and_the_job_the_rest(client, item, settings):
    # given five overdue holds and no job run since (a storm's leftovers, beat stopped)
    settings.FLASH_LAZY_EXPIRY_BATCH = 2
    for _ in range(5):
        overdue(services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)[0])

    # when someone reads the sales, then the job runs
    client.get("/flash/")
    after_read = Hold.objects.filter(status=HoldStatus.EXPIRED).count()
    from flashsale.tasks import holds_expire

    holds_expire()

    # then the read returned a small batch on its way; the job took the rest
    assert after_read == 2
    assert Hold.objects.filter(status=HoldStatus.EXPIRED).count() == 5
    assert SaleItem.objects.get(pk=item.pk).available == 10
