"""Every mutation names the roles that may run it; a new mutation without one fails here."""

from __future__ import annotations

from metalgraph.schema.permissions import AdminOfTenantOrProvider, ProviderAdmin
from metalgraph.schema.schema import Mutation


def test_every_mutation_has_a_role_permission() -> None:
    fields = Mutation.__strawberry_definition__.fields
    assert len(fields) > 20
    unguarded = [f.python_name for f in fields if not f.permission_classes]
    assert not unguarded, f"mutations without permission_classes: {unguarded}"


def test_inventory_changes_are_for_provider_admins_only() -> None:
    fields = {f.python_name: f for f in Mutation.__strawberry_definition__.fields}
    for name in ("create_node", "delete_switch", "set_node_status", "create_tenant", "delete_tenant", "discover"):
        assert fields[name].permission_classes == [ProviderAdmin], name


def test_cluster_lifecycle_is_self_service_for_tenant_admins() -> None:
    fields = {f.python_name: f for f in Mutation.__strawberry_definition__.fields}
    for name in ("create_cluster", "release_cluster", "resize_cluster", "replace_node", "delete_cluster"):
        assert fields[name].permission_classes == [AdminOfTenantOrProvider], name
    assert not {"assign_nodes", "unassign_nodes"} & set(fields), "the lifecycle replaced them"
