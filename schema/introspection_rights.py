"""Who may look at the schema itself: its introspection, and the names validation errors suggest."""

from __future__ import annotations

from typing import Any


def may_introspect(context: Any) -> bool:
    """Providers may; tenants when the provider allows tenant introspection; anonymous callers never."""
    principal = getattr(context, "principal", None)
    if principal is None:
        return False
    return principal.tenant is None or bool(context.settings.tenant_introspection)
