"""Caching of catalog and service page fragments, invalidated by a generation number.

Every cached fragment is stored with the catalog generation it was rendered
under and only served while that is still the current generation. A change to
a service, plan, vendor or category bumps the generation *after its transaction
commits*, so every later request misses and renders from the database again:
a paused service never shows once the pause has committed.

Readers take the generation *before* they query the database. A reader racing
with a change therefore either stores its (possibly old) fragment tagged with
the old generation, which no later request accepts, or started after the
commit and saw the new rows. Popularity counts move with every purchase without a bump: the
"popular" order is at most CATALOG_CACHE_SECONDS old.
"""

import hashlib
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "marketplace:catalog:generation"
T = TypeVar("T")


def catalog_generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        # Never restart from a small number: fragments of an evicted generation
        # may still sit in the cache.
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        generation = cache.get(GENERATION_KEY) or time.time_ns()
    return generation


def _bump() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # the key was evicted: start a fresh, larger generation
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)


def catalog_cache_invalidate() -> None:
    """Forget every cached catalog and service fragment once the current transaction commits."""
    transaction.on_commit(_bump)


def cache_key(name: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"marketplace:{name}:{digest}"


def cached(name: str, parts: tuple[str, ...], compute: Callable[[], T]) -> T:
    """The cached value for (`name`, `parts`), computed by `compute()` on a miss.

    One cache round trip on a hit: the entry is stored with the generation it
    was computed under and read together with the current generation; it only
    counts while the two are equal. Values are rendered HTML fragments or small
    dicts of plain data, never anything that depends on who is asking. None
    (nothing found) is not stored, so made-up addresses cannot fill the cache.
    """
    return cached_entry(name, parts, compute)[0]


def cached_entry(
    name: str, parts: tuple[str, ...], compute: Callable[[], T]
) -> tuple[T, int, bool]:
    """Like `cached`, with the generation the value belongs to and whether it was a hit."""
    key = cache_key(name, *parts)
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    if generation is None:
        generation = catalog_generation()
    entry = found.get(key)
    if entry is not None and entry[0] == generation:
        return entry[1], generation, True
    value = compute()  # after reading the generation: see the module docstring
    if value is not None:
        cache.set(key, (generation, value), timeout=settings.CATALOG_CACHE_SECONDS)
    return value, generation, False
