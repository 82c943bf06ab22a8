"""Holds made before 0005 take their item's price of the moment, a batch at a time."""

from django.db import migrations

from flashsale.migrations._hold_price import fill_from_items


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("flashsale", "0005_hold_unit_price"),
    ]

    operations = [
        migrations.RunPython(fill_from_items, migrations.RunPython.noop),
    ]
