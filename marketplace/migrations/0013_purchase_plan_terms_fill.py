"""Purchases made before 0012 take their plan's terms now (the best record there
is of what they bought), a batch at a time.

It also sets the column's database default, which 0012 gained after some
databases had applied it: on those, old code's inserts would otherwise fail.
"""

from django.db import migrations

from flexpass.backfill import update_in_batches


def default_for_early_databases(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":  # embedded SQLite: no old code runs
        schema_editor.execute(
            "ALTER TABLE marketplace_purchase ALTER COLUMN plan_terms SET DEFAULT ''"
        )


def fill_from_plans(apps, schema_editor):
    from marketplace.terms import plan_terms

    Plan = apps.get_model("marketplace", "Plan")
    Purchase = apps.get_model("marketplace", "Purchase")
    for plan in Plan.objects.filter(pk__in=Purchase.objects.filter(plan_terms="").values("plan_id")):
        update_in_batches(
            Purchase.objects.filter(plan=plan, plan_terms=""), plan_terms=plan_terms(plan)[:120]
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("marketplace", "0012_purchase_plan_terms"),
    ]

    operations = [
        migrations.RunPython(default_for_early_databases, migrations.RunPython.noop),
        migrations.RunPython(fill_from_plans, migrations.RunPython.noop),
    ]
