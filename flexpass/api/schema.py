"""Publish allauth's headless (mobile sign-in) endpoints in our OpenAPI schema."""

import re


def add_allauth_headless_paths(result, generator, request, public):
    from allauth.headless.spec.internal.schema import get_schema

    spec = get_schema()
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict):
                operation["tags"] = ["auth (mobile, allauth headless)"]
                slug = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
                operation.setdefault("operationId", f"{method}_{slug}")
        result["paths"].setdefault(path, item)
    components = result.setdefault("components", {})
    for section, entries in spec.get("components", {}).items():
        target = components.setdefault(section, {})
        for name, value in entries.items():
            target.setdefault(name, value)
    return result
