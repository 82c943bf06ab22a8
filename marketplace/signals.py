"""Cache invalidation when catalog rows change, whoever changes them (admin, shell, services).

The one use of signals in the marketplace, and not domain logic: it only makes
cached catalog fragments go stale after the change commits (catalog_cache).
QuerySet.update() sends no signal: code that updates catalog rows in bulk calls
catalog_cache_invalidate() itself.
"""

from django.db.models.signals import post_delete, post_save

from marketplace.catalog_cache import catalog_cache_invalidate
from marketplace.models import Category, Plan, Service, VendorProfile


def _changed(sender, **kwargs) -> None:
    catalog_cache_invalidate()


def connect() -> None:
    for model in (Service, Plan, VendorProfile, Category):
        post_save.connect(_changed, sender=model, dispatch_uid=f"catalog-cache-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"catalog-cache-del-{model.__name__}"
        )
