"""Every hold has its price now (0006); new code always writes it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("flashsale", "0006_hold_unit_price_fill"),
    ]

    operations = [
        migrations.AlterField(
            model_name="hold",
            name="unit_price_paise",
            field=models.BigIntegerField(),
        ),
    ]
