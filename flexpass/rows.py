"""Model instances to and from plain SQL, for the few hot paths where building an ORM
query costs more CPU than PostgreSQL spends running it.

A purchase runs a dozen statements; through the ORM, compiling them (select_related
joins, annotations, model saves) took longer than the database did. These helpers
keep the models as the single description of the tables: the column lists, the
Python-side defaults and the value conversions all come from the model's fields.
Everything that is not on such a path uses the ORM.
"""

from datetime import UTC
from functools import cache

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

# The largest primary key a table can hold (bigint). Ids from URLs and bodies are
# checked against it before plain SQL: SQLite overflows on a larger one (the ORM copes).
MAX_ID = 2**63 - 1


@cache
def _fields(model) -> tuple:
    return tuple(model._meta.concrete_fields)


@cache
def _attnames(model) -> tuple[str, ...]:
    return tuple(field.attname for field in _fields(model))


@cache
def _converted(model) -> tuple:
    """(index, field) for fields that turn database values into Python ones themselves."""
    return tuple(
        (index, field)
        for index, field in enumerate(_fields(model))
        if hasattr(field, "from_db_value")
    )


def select_list(model, alias: str) -> str:
    """Every concrete column of `model` as `alias`.column, in the order `instances` reads."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in _fields(model))


def instances(row, *models) -> tuple[list, tuple]:
    """Split `row` (the models' select_lists, in order, then any extra columns) into one
    instance per model; returns (instances, the extra columns)."""
    built, start = [], 0
    for model in models:
        end = start + len(_attnames(model))
        values = list(row[start:end])
        for index, field in _converted(model):
            values[index] = field.from_db_value(values[index], None, connection)
        built.append(model.from_db(connection.alias, _attnames(model), values))
        start = end
    return built, tuple(row[start:])


@cache
def _insert(model) -> tuple[tuple, str]:
    """The fields an INSERT of `model` writes (all but the auto primary key) and its SQL."""
    quote = connection.ops.quote_name
    fields = tuple(field for field in _fields(model) if not field.primary_key)
    return fields, (
        f"INSERT INTO {quote(model._meta.db_table)}"
        f" ({', '.join(quote(field.column) for field in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
        f" RETURNING {quote(model._meta.pk.column)}"
    )


def insert(instance) -> None:
    """INSERT an unsaved instance (its constructor applied the defaults) and set its pk.

    What Model.save() does for a new row with an auto primary key, minus the query
    compiler and the signals (none of our models listens to its own save).
    """
    fields, sql = _insert(type(instance))
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias


def datetime_value(value):
    """A computed datetime column (MAX(...), say): SQLite hands those back as text."""
    if isinstance(value, str):
        value = parse_datetime(value)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
    return value
