from django.db import migrations, models


class Migration(migrations.Migration):
    """late_asked_at -> asked_at in the code only: it now covers open top-ups too, and
    the column keeps its name so code from before and after this can run side by side."""

    dependencies = [
        ("billing", "0002_topup_late_asked_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField(
                    model_name="topup", old_name="late_asked_at", new_name="asked_at"
                ),
                migrations.AlterField(
                    model_name="topup",
                    name="asked_at",
                    field=models.DateTimeField(
                        blank=True, db_column="late_asked_at", null=True
                    ),
                ),
            ]
        ),
    ]
