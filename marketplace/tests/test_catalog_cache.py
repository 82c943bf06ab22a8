import pytest
from django.core.cache import cache

from marketplace.catalog_cache import (
    GENERATION_KEY,
    cache_key,
    cached,
    catalog_cache_invalidate,
    catalog_generation,
)

pytestmark = pytest.mark.django_db


def test_a_value_is_computed_once_per_generation(django_capture_on_commit_callbacks):
    calls = []

    def compute():
        calls.append(1)
        return f"v{len(calls)}"

    assert cached("x", ("a",), compute) == "v1"
    assert cached("x", ("a",), compute) == "v1"
    with django_capture_on_commit_callbacks(execute=True):
        catalog_cache_invalidate()
    assert cached("x", ("a",), compute) == "v2"
    assert len(calls) == 2


def test_invalidation_waits_for_the_commit(django_capture_on_commit_callbacks):
    before = catalog_generation()

    with django_capture_on_commit_callbacks(execute=False) as pending:
        catalog_cache_invalidate()
        assert catalog_generation() == before  # not yet: the change has not committed

    for callback in pending:
        callback()
    assert catalog_generation() == before + 1


def test_an_entry_rendered_under_an_old_generation_is_never_served():
    # given a slow reader that rendered before a change and stores afterwards
    old = catalog_generation()
    cache.incr(GENERATION_KEY)
    cache.set(cache_key("x", "a"), (old, "stale"), timeout=60)

    assert cached("x", ("a",), lambda: "fresh") == "fresh"


def test_an_evicted_generation_restarts_above_every_old_one():
    old = catalog_generation()
    cache.set(cache_key("x", "a"), (old, "old"), timeout=60)
    cache.delete(GENERATION_KEY)

    assert catalog_generation() > old
    assert cached("x", ("a",), lambda: "new") == "new"


def test_nothing_found_is_not_stored():
    assert cached("x", ("missing",), lambda: None) is None
    assert cache.get(cache_key("x", "missing")) is None
