"""A hold keeps the price its units were taken at: checkout charges that.

Expand, fill, contract: the column arrives nullable (instant), 0006 fills the
holds made before it in batches, 0007 fills any left and makes it required.
New code needs every hold priced, so it starts after 0007 (docs/deploying.md).
"""

from django.db import migrations, models


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
    ]
