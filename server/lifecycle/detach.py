"""Taking nodes out of a cluster: ports back to quarantine, power off, then out of the cluster.

Used by every way out: a release (nodes to `sanitizing`, the VLAN back to the pool), a shrink or a
replaced node (to `sanitizing`), a rollback (nodes that never reached the tenant back to
`available`). The order keeps the graph honest at every moment:

1. one write puts the nodes' ports on the site's quarantine VLAN in the intent and takes the VLAN
   off the trunks the remaining nodes no longer need (the nodes are still members);
2. the switches are brought to that intent and the nodes powered off;
3. one write takes the nodes out of the cluster. A node whose port could not be confirmed on the
   quarantine VLAN, or (on a rollback) whose BMC did not answer, becomes `failed` with the reason:
   it may still be on the tenant's VLAN, so it must not reach anyone. For the same reason the VLAN
   returns to the pool only when every port was confirmed; otherwise it is held, with the ports
   (also when the VLAN stays with the cluster, so that its release later knows them). Every detach
   brings the ports held by an earlier one to their intent again: a release after the switch is
   back confirms them and frees the VLAN.

Every step is idempotent: a job resumed after a crash runs `detach` again from the start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..audit.storable import storable_text
from ..store.base import Statement
from .context import JobContext
from .events import event_statement
from .fabric import cluster_trunks, node_ports
from .network import converge, set_access_statement, trunk_statements
from .power import power_off
from .progress import StepProgress
from .records import ClusterRecord, owner_guard
from .states import ClusterState
from .vlan_pool import free_statement, held_ports, hold_statement, site_vlans

_RELEASE_NODES = """
UNWIND $nodes AS k
MATCH (c:Cluster {key: $key})-[m:MEMBER]->(n:Node {key: k})
DELETE m
SET n.state = $state, n.failure_reason = null, n.sanitizing_for = $sanitizing_for, n.power_state = 'off'
"""
_FAIL_NODES = """
UNWIND $failed AS f
MATCH (n:Node {key: f.node})
OPTIONAL MATCH (:Cluster {key: $key})-[m:MEMBER]->(n)
DELETE m
SET n.state = 'failed', n.failure_reason = f.reason, n.needs_erase = $tenant_data
"""
"""`needs_erase`: the node was the tenant's (not a rollback before it reached the tenant); bringing it
back into service sends it through sanitization (see `inventory.editing.set_node_status`)."""


@dataclass
class Detached:
    failed: dict[str, str] = field(default_factory=dict)
    """Node -> why it was marked failed instead."""
    vlan_freed: bool = False


async def detach(
    ctx: JobContext,
    record: ClusterRecord,
    nodes: Sequence[str],
    *,
    to: str,
    free_vlan: bool,
    state: ClusterState,
    progress: StepProgress,
) -> Detached:
    """Take `nodes` out of `record`'s cluster into node state `to` (`available` or `sanitizing`)."""
    nodes = sorted(set(nodes) & set(record.members))
    leaving = await node_ports(ctx.store, nodes)
    staying = await node_ports(ctx.store, [m for m in record.members if m not in set(nodes)])
    trunks = set()
    if record.vlan is not None:
        before = await cluster_trunks(ctx.store, [*leaving, *staying])
        after = await cluster_trunks(ctx.store, staying) if staying else set()
        trunks = before - after
    quarantine = (await site_vlans(ctx.store, record.site)).quarantine if record.site else None
    intent: list[Statement] = [*owner_guard(record.key, ctx.config.owner)]
    if quarantine is not None:
        intent.append(set_access_statement([p.port for p in leaving], quarantine))
    if record.vlan is not None:
        intent += trunk_statements((), trunks, record.vlan)
    await ctx.store.write_atomically(intent)

    held_before = (await held_ports(ctx.store, record.key))[0] if record.vlan is not None else []
    ports = sorted({*(p.port for p in leaving), *trunks, *held_before})  # held: left in doubt by an earlier try
    converged = await converge(ctx.store, ctx.access, ctx.pool(), ports, progress.reporter("network", state))
    result = Detached()
    for port, why in sorted(converged.failures.items()):
        for owner in (p.node for p in leaving if p.port == port):
            result.failed.setdefault(owner, f"port {port} could not be put back on quarantine: {why}")
    powered = await power_off(ctx.store, ctx.access, ctx.pool(), [n for n in nodes if n not in result.failed])
    if to == "available":  # a node that will not reach a tenant's sanitization must be known to be off
        for node, why in powered.items():
            result.failed.setdefault(node, why)
    await progress.flush()

    held = sorted(p for p in ports if p in converged.failures)
    changes: list[Statement] = [
        *owner_guard(record.key, ctx.config.owner),
        (
            _RELEASE_NODES,
            {
                "key": record.key,
                "nodes": [n for n in nodes if n not in result.failed],
                "state": to,
                "sanitizing_for": record.key if to == "sanitizing" else None,
            },
        ),
        (
            _FAIL_NODES,
            {
                "key": record.key,
                "failed": [{"node": n, "reason": storable_text(r)} for n, r in result.failed.items()],
                "tenant_data": to == "sanitizing",
            },
        ),
    ]
    if record.vlan is not None:
        if free_vlan and not held:
            changes.append(free_statement(record.key))
            result.vlan_freed = True
        elif held or held_before:
            changes.append(hold_statement(record.key, held, "; ".join(converged.failures[p] for p in held[:3])))
    summary = _summary(nodes, to, result, record.vlan if free_vlan else None)
    changes.append(event_statement(record.key, "detached", state, summary, len(nodes), len(nodes)))
    await ctx.record(record.key, "releaseNodes", summary, changes, nodes=list(nodes))
    return result


def _summary(nodes: Sequence[str], to: str, result: Detached, vlan: int | None) -> str:
    ok = len(nodes) - len(result.failed)
    where = "to sanitization" if to == "sanitizing" else "back to the pool"
    text = f"{ok} node(s) released {where}"
    if result.failed:
        first = next(iter(result.failed.items()))
        text += f"; {len(result.failed)} marked failed (e.g. {first[0]}: {first[1]})"
    if vlan is not None:
        text += f"; VLAN {vlan} " + (
            "returned to the pool" if result.vlan_freed else "held: some ports could not be confirmed"
        )
    return text
