"""The waitlist: units that come back (expired or released holds, restocks) go to the
people waiting for them first, in the order they joined, as a hold of one unit for a
short priority window (FLASH_WAITLIST_PRIORITY_SECONDS) with a live notification.
If they let it lapse, that hold expires and the unit goes to the next in line."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from flashsale import live
from flashsale.errors import SaleNotLive, WaitlistRefused
from flashsale.models import (
    EventKind,
    Hold,
    HoldSource,
    SaleItem,
    WaitlistEntry,
    WaitlistStatus,
)
from flashsale.services.stock import allowance_take, event_append
from support.services import notify


def waitlist_join(*, user, item: SaleItem, now=None) -> WaitlistEntry:
    """Queue `user` for `item`. Joining twice keeps the first place in line."""
    now = now or timezone.now()
    if item.sale.phase(now) not in ("live", "upcoming"):
        raise SaleNotLive("This sale is over, so there is no waitlist any more.")
    existing = WaitlistEntry.objects.filter(
        item=item, user=user, status=WaitlistStatus.WAITING
    ).first()
    if existing:
        return existing
    if SaleItem.objects.filter(pk=item.pk, available__gt=0).exists():
        raise WaitlistRefused("This item is still in stock: hold it now instead.")
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(item=item, user=user, created_at=now)
    except IntegrityError:  # the same person joined twice at once: one place in line
        return WaitlistEntry.objects.get(item=item, user=user, status=WaitlistStatus.WAITING)


def waitlist_leave(*, user, item: SaleItem, now=None) -> int:
    """Leave the line for `item`. Returns how many places were given up (0 or 1)."""
    return WaitlistEntry.objects.filter(item=item, user=user, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.LEFT, resolved_at=now or timezone.now()
    )


def waitlist_offer(*, item: SaleItem, units: int, now=None) -> int:
    """Turn up to `units` returning units into offers for the first people in line.

    Each offer is a one-unit hold lasting the priority window; its units never
    pass through `available`, so nobody else can take them meanwhile. People
    at their per-customer limit are skipped. Returns the units offered; the
    caller puts the rest back in stock. The caller holds a transaction and no
    lock on the item row yet (lock order: waitlist rows before the item).
    """
    now = now or timezone.now()
    if units <= 0 or not item.sale.is_live(now):
        return 0
    expires_at = now + timedelta(seconds=settings.FLASH_WAITLIST_PRIORITY_SECONDS)
    offered = 0
    while offered < units:
        batch = list(
            WaitlistEntry.objects.filter(item_id=item.pk, status=WaitlistStatus.WAITING)
            .order_by("created_at", "pk")
            .select_for_update(skip_locked=True)[: units - offered]
        )
        if not batch:
            break
        for entry in batch:
            if not allowance_take(
                item_id=item.pk, user_id=entry.user_id, quantity=1, limit=item.per_user_limit
            ):
                WaitlistEntry.objects.filter(pk=entry.pk).update(
                    status=WaitlistStatus.SKIPPED, resolved_at=now
                )
                continue
            hold = Hold.objects.create(
                item_id=item.pk,
                user_id=entry.user_id,
                quantity=1,
                source=HoldSource.WAITLIST,
                created_at=now,
                expires_at=expires_at,
                unit_price_paise=item.sale_price_paise,
            )
            event_append(
                item_id=item.pk,
                kind=EventKind.HOLD_CREATED,
                delta=-1,
                hold=hold,
                metadata={"user": entry.user_id, "source": "waitlist", "entry": entry.pk},
            )
            WaitlistEntry.objects.filter(pk=entry.pk).update(
                status=WaitlistStatus.OFFERED, offered_hold=hold, resolved_at=now
            )
            live.offer_on_commit(
                user_id=entry.user_id,
                payload={
                    "hold_id": hold.pk,
                    "item_id": item.pk,
                    "item_name": item.name,
                    "expires_at": expires_at.isoformat(),
                    "url": reverse("flashsale:hold", args=[hold.pk]),
                },
            )
            notify(
                user=entry.user_id,
                kind="waitlist_offer",
                title=f"{item.name} is held for you",
                body="It came back in stock: check out before the hold ends.",
                url=reverse("flashsale:hold", args=[hold.pk]),
            )
            offered += 1
    return offered
