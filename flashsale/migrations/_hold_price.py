"""The hold-price backfill shared by migrations 0006 and 0007."""

from django.db.models import OuterRef, Subquery

from flexpass.backfill import update_in_batches


def fill_from_items(apps, schema_editor):
    """Holds without a price take their item's price of the moment, a batch at a time."""
    Hold = apps.get_model("flashsale", "Hold")
    SaleItem = apps.get_model("flashsale", "SaleItem")
    price = SaleItem.objects.filter(pk=OuterRef("item_id")).values("sale_price_paise")[:1]
    update_in_batches(
        Hold.objects.filter(unit_price_paise__isnull=True), unit_price_paise=Subquery(price)
    )
