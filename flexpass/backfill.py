"""Backfills for data migrations that must not lock a big table for their whole run."""

from django.db.models import QuerySet

BATCH = 2_000


def update_in_batches(queryset: QuerySet, *, batch: int = BATCH, **values) -> None:
    """`queryset.update(**values)` a batch of primary keys at a time.

    Run it from a migration with `atomic = False`: each batch then commits on its
    own, so writers wait for one batch's row locks at most, not the whole table's.
    The queryset should exclude rows already done, so a rerun picks up where a
    failed run stopped.
    """
    last_pk = None
    while True:
        page = queryset.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        pks = list(page.values_list("pk", flat=True)[:batch])
        if not pks:
            return
        queryset.filter(pk__in=pks).update(**values)
        last_pk = pks[-1]
