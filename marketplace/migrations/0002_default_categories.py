"""The categories the catalog starts with; staff add more in the admin."""

from django.db import migrations

DEFAULTS = [
    ("AI tools", "ai-tools", "🤖"),
    ("Data APIs", "data-apis", "📡"),
    ("Creative assets", "creative-assets", "🎨"),
    ("Developer tools", "developer-tools", "🛠️"),
    ("Productivity", "productivity", "⚡"),
    ("Learning", "learning", "🎓"),
]


def add_categories(apps, schema_editor):
    Category = apps.get_model("marketplace", "Category")
    for position, (name, slug, icon) in enumerate(DEFAULTS):
        Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "icon": icon, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0001_initial")]

    operations = [migrations.RunPython(add_categories, migrations.RunPython.noop)]
