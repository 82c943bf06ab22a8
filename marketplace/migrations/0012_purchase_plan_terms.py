"""A purchase keeps its plan's terms as sold; existing purchases take their plan's terms now
(the best record there is of what they bought)."""

from django.db import migrations, models


def fill_from_plans(apps, schema_editor):
    from marketplace.terms import plan_terms

    Plan = apps.get_model("marketplace", "Plan")
    Purchase = apps.get_model("marketplace", "Purchase")
    for plan in Plan.objects.filter(pk__in=Purchase.objects.values("plan_id")):
        Purchase.objects.filter(plan=plan).update(plan_terms=plan_terms(plan)[:120])


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0011_email_claim_lease"),
    ]

    operations = [
        migrations.AddField(
            model_name="purchase",
            name="plan_terms",
            field=models.CharField(blank=True, default="", max_length=120),
        ),
        migrations.RunPython(fill_from_plans, migrations.RunPython.noop),
    ]
