"""Whatever happens, live stock equals what the append-only events say (hypothesis)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashsale import services
from flashsale.checks import stock_discrepancies
from flashsale.errors import DomainError
from flashsale.models import Hold, HoldStatus, InventoryEvent, SaleItem
from flashsale.tests.factories import UserFactory, fund, item_make

pytestmark = pytest.mark.django_db

steps = st.lists(
    st.tuples(
        st.sampled_from(["hold", "release", "checkout", "run_out", "expire", "restock", "wait"]),
        st.integers(min_value=0, max_value=3),  # which buyer
        st.integers(min_value=1, max_value=3),  # quantity
    ),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_stock_recomputed_from_events_equals_stored_stock(steps, _roomy_throttle):
    # given a fresh item of 6 units and four funded buyers
    item = item_make(total=6, per_user_limit=3, price_paise=1_000)
    buyers = UserFactory.create_batch(4)
    for buyer in buyers:
        fund(buyer, 20_000)

    # when a random sequence of holds, releases, checkouts, expiries and restocks happens
    for action, who, quantity in steps:
        buyer = buyers[who]
        mine = Hold.objects.filter(item=item, user=buyer).order_by("-pk").first()
        try:
            if action == "hold":
                services.hold_create(user=buyer, item_id=item.pk, quantity=quantity)
            elif action == "release" and mine:
                services.hold_release(user=buyer, hold_id=mine.pk)
            elif action == "checkout" and mine:
                services.hold_checkout(user=buyer, hold_id=mine.pk)
            elif action == "run_out" and mine:
                Hold.objects.filter(pk=mine.pk).update(
                    expires_at=timezone.now() - timedelta(seconds=1)
                )
            elif action == "expire":
                services.holds_expire_overdue()
            elif action == "restock":
                with transaction.atomic():
                    services.item_restock(
                        item=SaleItem.objects.select_related("sale").get(pk=item.pk),
                        quantity=quantity,
                    )
            elif action == "wait":
                services.waitlist_join(user=buyer, item=item)
        except DomainError:
            pass  # refusals are part of the story; they must change nothing

    # then stored stock == sum of event deltas, total == restocks, and units are all accounted for
    item.refresh_from_db()
    deltas = sum(InventoryEvent.objects.filter(item=item).values_list("delta", flat=True))
    assert item.available == deltas
    assert 0 <= item.available <= item.total
    held_or_sold = sum(
        Hold.objects.filter(
            item=item, status__in=[HoldStatus.ACTIVE, HoldStatus.CONFIRMED]
        ).values_list("quantity", flat=True)
    )
    assert item.available == item.total - held_or_sold
    checked, problems = stock_discrepancies(sale_id=item.sale_id)
    assert (checked, problems) == (1, [])
