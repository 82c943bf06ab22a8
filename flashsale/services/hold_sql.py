"""The hold path's write on PostgreSQL: one statement instead of a four-statement transaction.

A storm is hundreds of holds a second on one item row, and every round trip
between taking that row's lock and committing is time nobody else can take
stock. One statement with data-modifying CTEs counts the units against the
buyer's limit (conditional upsert on their own row), takes them (conditional
UPDATE of the item row - the same lock order as everywhere else: allowance,
then item), writes the hold and its inventory event, and commits: one round
trip, the item row locked only inside it. Each step reads the previous
step's RETURNING rows, so a refused step leaves the later ones nothing to do.
If the limit took the units but the stock refused them (sold out since the
read), the final division by zero aborts the whole statement: nothing is kept. The rules are the same as the portable path
in holds._hold_insert_steps (used on SQLite), which the tests also run on
PostgreSQL.
"""

import json
import time
from datetime import timedelta

from django.conf import settings
from django.db import DataError, OperationalError, connection, transaction

from flashsale.models import (
    EventKind,
    Hold,
    HoldSource,
    HoldStatus,
    InventoryEvent,
    PurchaseAllowance,
    SaleItem,
)
from flexpass.errors import RetryLater

ENABLED = True  # tests switch it off to run the portable path on PostgreSQL
SOLD_OUT = object()
OVER_LIMIT = object()
RETRYABLE = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock timeout
ATTEMPTS = 3

_SQL = """
WITH allowed AS (
    INSERT INTO {allowance} AS a (item_id, user_id, taken)
    VALUES (%(item_id)s, %(user_id)s, %(quantity)s)
    ON CONFLICT (item_id, user_id) DO UPDATE SET taken = a.taken + EXCLUDED.taken
    WHERE a.taken + EXCLUDED.taken <= %(limit)s
    RETURNING item_id
), took AS (
    UPDATE {item} SET available = available - %(quantity)s
    WHERE id = %(item_id)s AND available >= %(quantity)s AND EXISTS (SELECT 1 FROM allowed)
    RETURNING id, sale_price_paise
), held AS (
    INSERT INTO {hold} (item_id, user_id, quantity, status, source, created_at, expires_at,
                        resolved_at, request_key, unit_price_paise)
    SELECT id, %(user_id)s, %(quantity)s, %(active)s, %(source)s, %(now)s,
           %(expires_at)s, NULL, %(request_key)s, sale_price_paise
    FROM took
    RETURNING id, unit_price_paise
), logged AS (
    INSERT INTO {event} (item_id, hold_id, kind, delta, metadata, acting_user_id, created_at)
    SELECT %(item_id)s, id, %(kind)s, -%(quantity)s, %(metadata)s::jsonb, NULL, %(now)s
    FROM held
    RETURNING hold_id
)
SELECT
    (SELECT count(*) FROM allowed),
    (SELECT hold_id FROM logged),
    (SELECT unit_price_paise FROM held),
    1 / (1 - ((SELECT count(*) FROM allowed) - (SELECT count(*) FROM logged)))
"""


def _statement() -> str:
    return _SQL.format(
        item=SaleItem._meta.db_table,
        allowance=PurchaseAllowance._meta.db_table,
        hold=Hold._meta.db_table,
        event=InventoryEvent._meta.db_table,
    )


def hold_insert(*, user, item: SaleItem, quantity: int, request_key, now):
    """The new Hold, or SOLD_OUT, or OVER_LIMIT. Raises IntegrityError on a repeated key.

    Runs in autocommit (its own transaction). Inside a caller's atomic block it
    runs in a savepoint, and outside tests that block must not exist: holding
    the item row until someone else's commit is what this module avoids.
    """
    expires_at = now + timedelta(seconds=settings.FLASH_HOLD_SECONDS)
    params = {
        "item_id": item.pk,
        "user_id": user.pk,
        "quantity": quantity,
        "limit": item.per_user_limit,
        "active": HoldStatus.ACTIVE,
        "source": HoldSource.STOREFRONT,
        "kind": EventKind.HOLD_CREATED,
        "now": now,
        "expires_at": expires_at,
        "request_key": request_key or None,
        "metadata": json.dumps({"user": user.pk}),
    }
    for attempt in range(1, ATTEMPTS + 1):
        try:
            allowed, hold_id, unit_price = _execute(params)
            break
        except DataError as exc:
            if getattr(exc.__cause__, "sqlstate", None) == "22012":  # allowed, then sold out
                return SOLD_OUT
            raise
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) not in RETRYABLE:
                raise
            time.sleep(0.02 * attempt)
    else:
        raise RetryLater()
    if not allowed:
        return OVER_LIMIT
    hold = Hold(
        pk=hold_id,
        item=item,
        user=user,
        quantity=quantity,
        status=HoldStatus.ACTIVE,
        source=HoldSource.STOREFRONT,
        created_at=now,
        expires_at=expires_at,
        request_key=request_key or None,
        unit_price_paise=unit_price,
    )
    hold._state.adding = False
    hold._state.db = connection.alias
    return hold


def _execute(params) -> tuple[int, int | None, int | None]:
    def run():
        with connection.cursor() as cursor:
            cursor.execute(_statement(), params)
            allowed, hold_id, unit_price, _ = cursor.fetchone()
        return allowed, hold_id, unit_price

    if connection.in_atomic_block:
        with transaction.atomic(durable=True):  # a savepoint in tests, an error elsewhere
            return run()
    return run()
