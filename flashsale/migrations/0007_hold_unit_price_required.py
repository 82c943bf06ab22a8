"""Every hold has its price; new code always writes it.

Fills first again: holds that old processes took after 0006 (during a deploy)
get their item's price, then the column becomes required. SET NOT NULL scans
the table under an exclusive lock: holds live two minutes, so the table is
small, and this step runs with the old processes stopped (docs/deploying.md).
"""

from django.db import migrations, models

from flashsale.migrations._hold_price import fill_from_items


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("flashsale", "0006_hold_unit_price_fill"),
    ]

    operations = [
        migrations.RunPython(fill_from_items, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="hold",
            name="unit_price_paise",
            field=models.BigIntegerField(),
        ),
    ]
