"""The operator's side: metrics from the database, items and restocks through services."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from flashsale import services, tasks
from flashsale.errors import SoldOut
from flashsale.models import (
    EventKind,
    FlashSale,
    Hold,
    HoldStatus,
    InventoryEvent,
    SaleItem,
    SaleStatus,
)
from flashsale.services import holds as holds_module
from flashsale.tests.factories import (
    FlashSaleFactory,
    ProductFactory,
    UserFactory,
    fund,
    item_make,
)
from flexpass.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_metrics_page_shows_real_figures_and_the_chart(staff_client, django_assert_max_num_queries):
    # given a sale where 2 holds were paid, 1 expired and 2 attempts hit an empty shelf
    sale = FlashSaleFactory(name="Night Drop")
    item = item_make(sale=sale, total=3, per_user_limit=1)
    buyers = UserFactory.create_batch(3)
    for buyer in buyers:
        fund(buyer, 100_000)
    holds = [services.hold_create(user=b, item_id=item.pk, quantity=1)[0] for b in buyers]
    for buyer, hold in zip(buyers[:2], holds[:2], strict=True):
        services.hold_checkout(user=buyer, hold_id=hold.pk)
    for _ in range(2):
        with pytest.raises(SoldOut):
            services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)
    Hold.objects.filter(pk=holds[2].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # (no expiry job has run: the page expires it on the way)

    # when staff open the sale's metrics
    url = reverse("admin:flashsale_flashsale_metrics", args=[sale.pk])
    response = staff_client.get(url)

    # then every figure comes from what happened
    figures = response.context["figures"]
    assert (figures.holds_created, figures.confirmed_orders, figures.holds_expired) == (3, 2, 1)
    assert (figures.oversell_blocked, figures.throttle_blocked) == (2, 0)
    row = figures.items[0]
    assert (row.total, row.available, row.pending_holds, row.confirmed_units) == (3, 1, 0, 2)
    assert row.expired_units == 1
    chart = response.context["chart"]
    assert (len(chart["labels"]), sum(chart["sold"]), sum(chart["expired"])) == (60, 2, 1)
    html = response.content.decode()
    assert 'id="fs-chart-data"' in html and "chart-4.5.1.umd.min.js" in html
    all_sales = staff_client.get(reverse("admin:flashsale_flashsale_metrics_all"))
    assert all_sales.context["figures"].holds_created == 3
    with django_assert_max_num_queries(13):  # nothing overdue any more: one look for it
        staff_client.get(url)


def test_items_added_in_the_admin_get_their_first_stock_event(staff_client):
    sale, product = FlashSaleFactory(), ProductFactory()

    response = staff_client.post(
        reverse("admin:flashsale_saleitem_add"),
        {
            "sale": sale.pk,
            "product": product.pk,
            "sale_price_paise": 19_900,
            "total": 25,
            "per_user_limit": 2,
            "position": 0,
        },
    )

    assert response.status_code == 302
    item = SaleItem.objects.get()
    assert (item.total, item.available) == (25, 25)
    event = InventoryEvent.objects.get(item=item)
    assert (event.kind, event.delta, event.acting_user.is_staff) == (EventKind.RESTOCK, 25, True)


def _item_add(staff_client, **fields):
    return staff_client.post(
        reverse("admin:flashsale_saleitem_add"),
        {"sale": FlashSaleFactory().pk, "sale_price_paise": 19_900, "position": 0, **fields},
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"plan": "time", "total": 5, "per_user_limit": 2}, "Passes sell one per customer"),
        ({"plan": "metered", "total": 5, "per_user_limit": 1}, "billed per session"),
        ({"product": "product", "total": 0, "per_user_limit": 2}, "between 1 and"),
        ({"total": 5, "per_user_limit": 1}, "either a product or a plan"),
    ],
    ids=["pass-limit-2", "metered-plan", "no-stock", "nothing-sold"],
)
def test_an_item_the_sale_cannot_sell_is_refused_on_the_add_form(staff_client, fields, error):
    from marketplace.tests.factories import PlanFactory, metered_plan

    if fields.get("plan") == "time":
        fields["plan"] = PlanFactory().pk
    elif fields.get("plan") == "metered":
        fields["plan"] = metered_plan().pk
    if fields.get("product"):
        fields["product"] = ProductFactory().pk

    response = _item_add(staff_client, **fields)

    assert response.status_code == 200  # the form again, with the reason
    assert error in response.content.decode()
    assert not SaleItem.objects.exists() and not InventoryEvent.objects.exists()


def test_a_pass_item_keeps_its_one_per_customer_limit_when_edited(staff_client):
    from marketplace.tests.factories import PlanFactory

    _item_add(staff_client, plan=PlanFactory().pk, total=5, per_user_limit=1)
    item = SaleItem.objects.get()

    response = staff_client.post(
        reverse("admin:flashsale_saleitem_change", args=[item.pk]),
        {"sale_price_paise": 9_900, "per_user_limit": 2, "position": 0},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["per_user_limit"] == ["Passes sell one per customer: set the limit to 1."]
    item.refresh_from_db()
    assert (item.per_user_limit, item.sale_price_paise) == (1, 19_900)


def test_a_stale_admin_form_never_writes_stock(staff_client, item):
    # given staff opened the item form when 10 were available, then someone held 2
    services.hold_create(user=UserFactory(), item_id=item.pk, quantity=2)

    # when staff change the price with the old form
    staff_client.post(
        reverse("admin:flashsale_saleitem_change", args=[item.pk]),
        {"sale_price_paise": 39_900, "per_user_limit": 2, "position": 0},
    )

    # then only the price changed
    item.refresh_from_db()
    assert (item.sale_price_paise, item.available, item.total) == (39_900, 8, 10)


def test_restock_and_void_from_the_admin(staff_client, item):
    hold, _ = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=2)

    staff_client.post(reverse("admin:flashsale_saleitem_restock", args=[item.pk]), {"quantity": 5})
    staff_client.post(
        reverse("admin:flashsale_hold_changelist"),
        {"action": "void_holds", "_selected_action": [hold.pk]},
    )

    item.refresh_from_db()
    assert (item.total, item.available) == (15, 15)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.RELEASED
    released = InventoryEvent.objects.get(kind=EventKind.HOLD_RELEASED)
    assert released.metadata["by_staff"] == released.acting_user_id


def test_check_flash_stock_passes_and_catches_a_lost_unit(item, capsys):
    call_command("check_flash_stock")
    assert "OK: 1 items" in capsys.readouterr().out

    SaleItem.objects.filter(pk=item.pk).update(available=9)  # a unit vanished

    with pytest.raises(CommandError, match="discrepancies"):
        call_command("check_flash_stock")
    assert "available 9 but events say 10" in capsys.readouterr().err


def test_demo_data_is_a_live_sale_and_seeding_twice_changes_nothing():
    from io import StringIO

    from flashsale.demo import seed_demo
    from flashsale.models import FlashSale

    seed_demo(StringIO())
    first = sorted(SaleItem.objects.values_list("pk", "available", "total"))
    seed_demo(StringIO())

    assert sorted(SaleItem.objects.values_list("pk", "available", "total")) == first
    assert FlashSale.objects.live().get().slug == "midnight-madness"
    assert FlashSale.objects.upcoming().count() == 1
    assert InventoryEvent.objects.filter(kind=EventKind.RESTOCK).count() == len(first) == 5


def test_every_flash_sale_admin_page_opens(staff_client, item):
    hold, _ = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)
    pages = [
        reverse("admin:flashsale_flashsale_changelist"),
        reverse("admin:flashsale_flashsale_change", args=[item.sale_id]),
        reverse("admin:flashsale_saleitem_changelist"),
        reverse("admin:flashsale_saleitem_change", args=[item.pk]),
        reverse("admin:flashsale_saleitem_restock", args=[item.pk]),
        reverse("admin:flashsale_hold_changelist"),
        reverse("admin:flashsale_hold_change", args=[hold.pk]),
        reverse("admin:flashsale_inventoryevent_changelist"),
        reverse("admin:flashsale_flashorder_changelist"),
        reverse("admin:flashsale_waitlistentry_changelist"),
        reverse("admin:flashsale_product_changelist"),
    ]

    statuses = {page: staff_client.get(page).status_code for page in pages}

    assert set(statuses.values()) == {200}, statuses


def _change_form_data(response) -> dict:
    """What the admin change page would post back unchanged (the sale and its inlines)."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data |= {management.add_prefix(n): management[n].value() for n in management.fields}
        forms += list(inline.formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None:
                continue
            if hasattr(field.widget, "decompress"):  # split date and time
                for index, part in enumerate(field.widget.decompress(value)):
                    data[f"{form.add_prefix(name)}_{index}"] = str(part)
            else:
                data[form.add_prefix(name)] = value
    return data


def test_metrics_expire_every_overdue_hold_not_just_a_storefront_batch(staff_client, settings):
    # given two holds overdue with beat stopped, and a storefront batch of one
    settings.FLASH_LAZY_EXPIRY_BATCH = 1
    item = item_make(total=5, per_user_limit=1)
    for n, buyer in enumerate(UserFactory.create_batch(2)):
        services.hold_create(user=buyer, item_id=item.pk, quantity=1, client_ip=f"10.9.{n}.1")
    Hold.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    # when staff open the metrics
    response = staff_client.get(reverse("admin:flashsale_flashsale_metrics", args=[item.sale_id]))

    # then both count as expired and their units as stock again
    figures = response.context["figures"]
    assert (figures.holds_expired, figures.items[0].available) == (2, 5)


def test_cancelling_a_sale_in_the_admin_ends_its_open_holds(
    staff_client, item, django_capture_on_commit_callbacks
):
    buyer = UserFactory()
    fund(buyer, 500_000)
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    url = reverse("admin:flashsale_flashsale_change", args=[item.sale_id])

    data = _change_form_data(staff_client.get(url)) | {"status": "cancelled"}
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["errors"]
    hold.refresh_from_db()
    assert hold.status == HoldStatus.RELEASED
    assert SaleItem.objects.get(pk=item.pk).available == item.total
    with pytest.raises(DomainError):
        services.hold_checkout(user=buyer, hold_id=hold.pk)


def test_a_hold_that_fails_to_void_is_retried_and_the_save_still_succeeds(
    staff_client, item, monkeypatch, django_capture_on_commit_callbacks
):
    # given two open holds, and a database hiccup on the first void
    holds = []
    for n, buyer in enumerate(UserFactory.create_batch(2)):
        holds.append(
            services.hold_create(user=buyer, item_id=item.pk, quantity=1, client_ip=f"10.8.{n}.1")[
                0
            ]
        )
    real_void, calls = holds_module.hold_void, []

    def void_failing_once(**kwargs):
        calls.append(kwargs["hold_id"])
        if len(calls) == 1:
            raise OperationalError("could not serialize access")
        return real_void(**kwargs)

    monkeypatch.setattr(holds_module, "hold_void", void_failing_once)
    url = reverse("admin:flashsale_flashsale_change", args=[item.sale_id])

    # when staff cancel the sale
    data = _change_form_data(staff_client.get(url)) | {"status": "cancelled"}
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, data)

    # then the sale is saved and the other hold was voided all the same
    assert response.status_code == 302
    assert calls == [holds[0].pk, holds[1].pk]
    statuses = dict(Hold.objects.values_list("pk", "status"))
    assert statuses == {holds[0].pk: HoldStatus.ACTIVE, holds[1].pk: HoldStatus.RELEASED}

    # and the task's retry (a worker retries it; tests run tasks eagerly, once) ends the first
    tasks.sale_holds_void(
        sale_id=item.sale_id,
        staff_id=response.wsgi_request.user.pk,
        reason="The sale was cancelled.",
        taken_off_at=timezone.now().isoformat(),
    )
    assert {h.status for h in Hold.objects.all()} == {HoldStatus.RELEASED}
    assert SaleItem.objects.get(pk=item.pk).available == item.total


def test_a_late_void_spares_a_sale_put_back_on_and_holds_taken_after(item):
    # given a sale taken off with one hold open, then holds taken after it was put back on
    staff = UserFactory(is_staff=True)
    early = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)[0]
    taken_off_at = timezone.now()
    FlashSale.objects.filter(pk=item.sale_id).update(status=SaleStatus.CANCELLED)
    FlashSale.objects.filter(pk=item.sale_id).update(status=SaleStatus.PUBLISHED)
    late = services.hold_create(
        user=UserFactory(), item_id=item.pk, quantity=1, client_ip="10.7.0.1"
    )[0]
    run = {"sale_id": item.sale_id, "acting_user": staff, "reason": "The sale was cancelled."}

    # when the void runs late, the sale on again: nothing ends
    assert services.sale_holds_void(**run, taken_off_at=taken_off_at) == 0
    # and when the sale is off again: only the hold from before the take-off it was queued for
    FlashSale.objects.filter(pk=item.sale_id).update(status=SaleStatus.DRAFT)
    assert services.sale_holds_void(**run, taken_off_at=taken_off_at) == 1

    statuses = dict(Hold.objects.values_list("pk", "status"))
    assert statuses == {early.pk: HoldStatus.RELEASED, late.pk: HoldStatus.ACTIVE}
