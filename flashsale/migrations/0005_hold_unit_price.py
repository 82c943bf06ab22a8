"""A hold keeps the price its units were taken at: checkout charges that.

Three steps so existing rows get a value: the column arrives empty, holds made
before it take their item's price of the moment, then it becomes required.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_from_items(apps, schema_editor):
    Hold = apps.get_model("flashsale", "Hold")
    SaleItem = apps.get_model("flashsale", "SaleItem")
    price = SaleItem.objects.filter(pk=OuterRef("item_id")).values("sale_price_paise")[:1]
    Hold.objects.filter(unit_price_paise__isnull=True).update(unit_price_paise=Subquery(price))


class Migration(migrations.Migration):
    dependencies = [
        ("flashsale", "0004_flash_order_request_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="hold",
            name="unit_price_paise",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(fill_from_items, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="hold",
            name="unit_price_paise",
            field=models.BigIntegerField(),
        ),
    ]
