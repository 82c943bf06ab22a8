"""The database itself refuses to edit or delete inventory history.

Live stock is recomputed from these events (check_flash_stock), so an edited
event would hide a lost unit. Like the ledger (wallet 0002), PostgreSQL and
SQLite get a row trigger on UPDATE and DELETE. TRUNCATE stays allowed: Django's
test runner empties every table between transactional tests with it.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION flashsale_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'inventory history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER inventoryevent_append_only BEFORE UPDATE OR DELETE ON flashsale_inventoryevent
  FOR EACH ROW EXECUTE FUNCTION flashsale_refuse_change();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS inventoryevent_append_only ON flashsale_inventoryevent;
DROP FUNCTION IF EXISTS flashsale_refuse_change();
"""

SQLITE_FORWARD = [
    f"""CREATE TRIGGER flashsale_inventoryevent_no_{op.lower()} BEFORE {op}
        ON flashsale_inventoryevent
        BEGIN SELECT RAISE(ABORT, 'inventory history is append-only'); END;"""
    for op in ("UPDATE", "DELETE")
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS flashsale_inventoryevent_no_{op.lower()};"
    for op in ("UPDATE", "DELETE")
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no %-placeholder parsing
            cursor.execute(PG_FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_BACKWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("flashsale", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
