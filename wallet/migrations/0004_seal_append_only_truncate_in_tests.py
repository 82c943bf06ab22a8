"""Seals are append-only like the rest of the ledger history, and Django's test
runner may empty the ledger tables.

Migration 0002 refused TRUNCATE on wallet_posting unconditionally. Django empties
the database between transactional tests (pytest `transaction=True`, live-server
and browser tests) with one TRUNCATE over every table, so every such test in the
project failed at teardown. TRUNCATE is now allowed only in a database whose name
starts with `test_` (the name Django gives test databases); everywhere else it is
refused as before, now also on journal entries and seals.
"""

from django.db import migrations

PG_REFUSE_V2 = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' AND current_database() LIKE 'test\_%' THEN
    RETURN NULL;  -- Django's test runner emptying a test database between tests
  END IF;
  RAISE EXCEPTION 'ledger history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;
"""

PG_REFUSE_V1 = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'ledger history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;
"""

PG_FORWARD = (
    PG_REFUSE_V2
    + """
CREATE TRIGGER ledgerseal_append_only BEFORE UPDATE OR DELETE ON wallet_ledgerseal
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledgerseal_no_truncate BEFORE TRUNCATE ON wallet_ledgerseal
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journalentry_no_truncate BEFORE TRUNCATE ON wallet_journalentry
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""
)

PG_BACKWARD = (
    """
DROP TRIGGER IF EXISTS journalentry_no_truncate ON wallet_journalentry;
DROP TRIGGER IF EXISTS ledgerseal_no_truncate ON wallet_ledgerseal;
DROP TRIGGER IF EXISTS ledgerseal_append_only ON wallet_ledgerseal;
"""
    + PG_REFUSE_V1
)

SQLITE_FORWARD = [
    f"""CREATE TRIGGER wallet_ledgerseal_no_{op.lower()} BEFORE {op} ON wallet_ledgerseal
        BEGIN SELECT RAISE(ABORT, 'ledger history is append-only'); END;"""
    for op in ("UPDATE", "DELETE")
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS wallet_ledgerseal_no_{op.lower()};" for op in ("UPDATE", "DELETE")
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
    dependencies = [("wallet", "0003_seals_and_check_runs")]
    operations = [migrations.RunPython(forward, backward)]
