"""A purchase keeps its plan's terms as sold.

The column has a database default, so adding it is instant and code that does
not know it yet can still insert purchases; 0013 fills the old rows.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0011_email_claim_lease"),
    ]

    operations = [
        migrations.AddField(
            model_name="purchase",
            name="plan_terms",
            field=models.CharField(blank=True, db_default="", default="", max_length=120),
        ),
    ]
