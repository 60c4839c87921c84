"""Tenants: created by a provider, with contact data kept to the minimum (personal data under GDPR)."""

from __future__ import annotations

import re
from typing import Any

from ..auth.tokens import now_iso
from ..errors import AlreadyExists, InUse, InvalidReference, NotFound
from ..store.base import GraphStore

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")


def check_name(kind: str, name: str) -> None:
    if not NAME.fullmatch(name):
        raise InvalidReference(f"{kind} name {name!r} must be 1-63 lower-case letters, digits or dashes")


async def get_tenant(store: GraphStore, name: str) -> dict[str, Any] | None:
    rows = await store.read("MATCH (t:Tenant {key: $name}) RETURN t{.*} AS t", {"name": name})
    return rows[0]["t"] if rows else None


async def create_tenant(store: GraphStore, name: str, display_name: str = "", contact_email: str = "") -> None:
    check_name("tenant", name)
    if contact_email and not EMAIL.fullmatch(contact_email):
        raise InvalidReference(f"contact email {contact_email!r} is not an e-mail address")
    if await get_tenant(store, name) is not None:
        raise AlreadyExists(f"tenant {name!r} already exists")
    props = {"key": name, "name": name, "display_name": display_name, "contact_email": contact_email}
    await store.write_atomically(
        [("CREATE (t:Tenant) SET t = $props, t.created_at = $at", {"props": props, "at": now_iso()})]
    )


async def update_tenant(store: GraphStore, name: str, display_name: str | None, contact_email: str | None) -> None:
    if await get_tenant(store, name) is None:
        raise NotFound(f"tenant {name!r} not found")
    if contact_email and not EMAIL.fullmatch(contact_email):
        raise InvalidReference(f"contact email {contact_email!r} is not an e-mail address")
    patch = {k: v for k, v in {"display_name": display_name, "contact_email": contact_email}.items() if v is not None}
    await store.write_atomically([("MATCH (t:Tenant {key: $name}) SET t += $patch", {"name": name, "patch": patch})])


async def delete_tenant(store: GraphStore, name: str) -> None:
    """Delete a tenant without clusters, revoking its tokens; its audit entries stay (they are evidence)."""
    rows = await store.read(
        # Grouped by the tenant, so a missing tenant gives no row (a bare count would give one, of 0).
        "MATCH (t:Tenant {key: $name}) OPTIONAL MATCH (t)-[:OWNS]->(c:Cluster) "
        "RETURN t.key AS tenant, count(c) AS clusters",
        {"name": name},
    )
    if not rows:
        raise NotFound(f"tenant {name!r} not found")
    if rows[0]["clusters"]:
        raise InUse(f"tenant {name!r} still has {rows[0]['clusters']} cluster(s)")
    await store.write_atomically(
        [
            ("MATCH (t:ApiToken {tenant: $name}) DETACH DELETE t", {"name": name}),
            ("MATCH (t:Tenant {key: $name}) DETACH DELETE t", {"name": name}),
        ]
    )
