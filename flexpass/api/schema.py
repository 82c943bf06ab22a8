"""Publish allauth's headless (mobile sign-in) endpoints in our OpenAPI schema."""

import logging

logger = logging.getLogger(__name__)


def add_allauth_headless_paths(result, generator, request, public):
    from allauth.headless.spec.internal.schema import get_schema

    spec = get_schema()
    for path, item in spec.get("paths", {}).items():
        for operation in item.values():
            if isinstance(operation, dict):
                operation["tags"] = ["auth (mobile, allauth headless)"]
        result["paths"].setdefault(path, item)
    components = result.setdefault("components", {})
    for section, entries in spec.get("components", {}).items():
        target = components.setdefault(section, {})
        for name, value in entries.items():
            target.setdefault(name, value)
    return result
