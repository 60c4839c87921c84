"""Inventory mutations for the provider: create, update (replace) and delete each entity.

Inputs are generated from the file format's pydantic models, so the API and the YAML format
cannot drift apart; the resolvers validate with pydantic and call `server.inventory.editing`.
Every expected failure is an ApiError with a code (INVALID_INPUT names the bad field's path in
GraphQL's camelCase). Only a provider-admin may run them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.experimental.pydantic import input as pydantic_input

from metalgraph.server.errors import AlreadyExists, DomainError, InUse, InvalidReference, NotFound
from metalgraph.server.inventory import editing, model
from metalgraph.server.inventory.files import field_path
from metalgraph.server.inventory.references import InventoryProblem

from .errors import ApiError, Code
from .permissions import ProviderAdmin
from .types import Ctx, Health, Link, Node, NodeState, Port, PowerState, Rack, Site, Switch

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@pydantic_input(
    model=model.Site,
    all_fields=True,
    description="A site; `name` identifies it. `vlanPool` (ascending, non-overlapping ranges of ids in 2..4094) "
    "must not contain `quarantineVlan`.",
)
class SiteInput:
    pass


@pydantic_input(model=model.Rack, all_fields=True, description="A rack in a site; `name` identifies it.")
class RackInput:
    pass


@pydantic_input(model=model.Port, all_fields=True, description="A switch port; `name` is unique within the switch.")
class PortInput:
    pass


@pydantic_input(model=model.Switch, all_fields=True, description="A switch with all its ports.")
class SwitchInput:
    pass


@pydantic_input(model=model.Bmc, all_fields=True)
class BmcInput:
    pass


@pydantic_input(model=model.Gpu, all_fields=True)
class GpuInput:
    pass


@pydantic_input(model=model.PortRef, all_fields=True, description="A switch port by switch and port name.")
class PortRefInput:
    pass


@pydantic_input(model=model.Nic, all_fields=True, description="A NIC; `port` is the switch port it is cabled to.")
class NicInput:
    pass


@pydantic_input(model=model.NvLink, all_fields=True, description="NVLink between two GPUs of the node, by GPU index.")
class NvLinkInput:
    pass


@pydantic_input(model=model.PcieAffinity, all_fields=True, description="PCIe distance from a GPU (index) to a NIC.")
class PcieAffinityInput:
    pass


class _NodeDefinition(model.Node):
    """The node model with its status fields optional, so that an update can leave them out."""

    state: model.NodeState | None = None  # type: ignore[assignment]
    power_state: model.PowerState | None = None  # type: ignore[assignment]
    health: model.Health | None = None  # type: ignore[assignment]


@pydantic_input(
    model=_NodeDefinition,
    name="NodeInput",
    all_fields=True,
    description="A node with all its GPUs, NICs (and their cables), NVLinks and PCIe affinities. "
    "`state`, `powerState` and `health` may be left out: a new node then gets the defaults "
    "(available, unknown, unknown) and an updated node keeps its current values.",
)
class NodeInput:
    pass


@pydantic_input(model=model.Link, all_fields=True, description="A cable between two switch ports.")
class LinkInput:
    pass


@strawberry.type(description="The outcome of a delete; `deleted` is false when there was nothing to delete.")
class DeletePayload:
    deleted: bool
    name: str


# --------------------------------------------------------------------------- conversion


def _camel(path: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path)


def _plain(value: Any) -> Any:
    """A strawberry input as plain data (dicts, lists, enum members) that pydantic validates."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _join(argument: str, path: str) -> str:
    return f"{argument}.{path}" if argument else path


def _invalid(what: str, argument: str, problems: Sequence[InventoryProblem]) -> ApiError:
    found = [{"path": _camel(_join(argument, p.path)), "message": p.message} for p in problems]
    text = "; ".join(f"{p['path']}: {p['message']}" for p in found[:10])
    return ApiError(Code.INVALID_INPUT, f"invalid {what}: {text}", problems=found)


def to_model(model_class: type[M], value: Any, argument: str, *, drop_null: Sequence[str] = ()) -> M:
    """Validate an input against its pydantic model; a failure names each bad field's path."""
    data = _plain(value)
    for name in drop_null:
        if data.get(name) is None:
            data.pop(name, None)
    try:
        return model_class.model_validate(data)
    except ValidationError as e:
        problems = [InventoryProblem(field_path(err["loc"]), err["msg"]) for err in e.errors(include_url=False)]
        raise _invalid(model_class.__name__.lower(), argument, problems) from None


_CODES: dict[type[DomainError], Code] = {
    NotFound: Code.NOT_FOUND,
    AlreadyExists: Code.ALREADY_EXISTS,
    InUse: Code.IN_USE,
    InvalidReference: Code.INVALID_INPUT,
}


async def _edit(info: Ctx, argument: str, call: Awaitable[T]) -> T:
    """Run a domain edit; map its errors to API errors; give the rest of the request fresh loaders."""
    try:
        result = await call
    except DomainError as e:
        code = _CODES.get(type(e), Code.INVALID_INPUT)
        details: dict[str, Any] = {}
        if e.problems:
            details["problems"] = [{"path": _camel(_join(argument, p.path)), "message": p.message} for p in e.problems]
        raise ApiError(code, e.message, **details) from None
    finally:
        info.context.forget_cached_reads()
    return result


async def _reload(info: Ctx, label: str, name: str, wrap: Callable[[dict[str, Any]], T]) -> T:
    props = await info.context.loaders.vertex(label).load(name)
    if props is None:  # deleted by someone else in the meantime
        raise ApiError(Code.NOT_FOUND, f"{label.lower()} {name!r} not found", kind=label, name=name)
    return wrap(props)


async def _deleted(info: Ctx, name: str, call: Awaitable[None]) -> DeletePayload:
    try:
        await _edit(info, "name", call)
    except ApiError as e:
        if e.code is Code.NOT_FOUND:
            return DeletePayload(deleted=False, name=name)
        raise
    return DeletePayload(deleted=True, name=name)


_REPLACES = (
    "Replaces the whole definition: fields left out take their defaults, except a node's status (kept unless given) "
    "and what the cluster lifecycle owns (a node's failure reason, a port's VLAN settings once it has a VLAN), "
    "which keep their current values."
)


@strawberry.type
class InventoryMutation:
    # ----------------------------------------------------------------- sites
    @strawberry.mutation(
        permission_classes=[ProviderAdmin], description="Create a site; ALREADY_EXISTS when the name is taken."
    )
    async def create_site(self, info: Ctx, site: SiteInput) -> Site:
        value = to_model(model.Site, site, "site")
        await _edit(info, "site", editing.create_site(info.context.store, value))
        return await _reload(info, "Site", value.name, Site)

    @strawberry.mutation(
        permission_classes=[ProviderAdmin], description=f"Update the site named `site.name`. {_REPLACES}"
    )
    async def update_site(self, info: Ctx, site: SiteInput) -> Site:
        value = to_model(model.Site, site, "site")
        await _edit(info, "site", editing.replace_site(info.context.store, value))
        return await _reload(info, "Site", value.name, Site)

    @strawberry.mutation(permission_classes=[ProviderAdmin], description="Delete a site; IN_USE while it has racks.")
    async def delete_site(self, info: Ctx, name: str) -> DeletePayload:
        return await _deleted(info, name, editing.delete_site(info.context.store, name))

    # ----------------------------------------------------------------- racks
    @strawberry.mutation(permission_classes=[ProviderAdmin], description="Create a rack in an existing site.")
    async def create_rack(self, info: Ctx, rack: RackInput) -> Rack:
        value = to_model(model.Rack, rack, "rack")
        await _edit(info, "rack", editing.create_rack(info.context.store, value))
        return await _reload(info, "Rack", value.name, Rack)

    @strawberry.mutation(
        permission_classes=[ProviderAdmin],
        description=f"Update the rack named `rack.name` (a new `site` moves it). {_REPLACES}",
    )
    async def update_rack(self, info: Ctx, rack: RackInput) -> Rack:
        value = to_model(model.Rack, rack, "rack")
        await _edit(info, "rack", editing.replace_rack(info.context.store, value))
        return await _reload(info, "Rack", value.name, Rack)

    @strawberry.mutation(
        permission_classes=[ProviderAdmin], description="Delete a rack; IN_USE while it holds nodes or switches."
    )
    async def delete_rack(self, info: Ctx, name: str) -> DeletePayload:
        return await _deleted(info, name, editing.delete_rack(info.context.store, name))

    # ----------------------------------------------------------------- switches
    @strawberry.mutation(permission_classes=[ProviderAdmin], description="Create a switch with its ports.")
    async def create_switch(self, info: Ctx, switch: SwitchInput) -> Switch:
        value = to_model(model.Switch, switch, "switch")
        await _edit(info, "switch", editing.create_switch(info.context.store, value))
        return await _reload(info, "Switch", value.name, Switch)

    @strawberry.mutation(
        permission_classes=[ProviderAdmin],
        description="Replace a switch and its ports. Cables on ports that stay are kept; "
        f"dropping a cabled port, or one carrying a cluster's VLAN, is refused with IN_USE. {_REPLACES}",
    )
    async def update_switch(self, info: Ctx, switch: SwitchInput) -> Switch:
        value = to_model(model.Switch, switch, "switch")
        await _edit(info, "switch", editing.replace_switch(info.context.store, value))
        return await _reload(info, "Switch", value.name, Switch)

    @strawberry.mutation(
        permission_classes=[ProviderAdmin],
        description="Delete a switch and its ports; IN_USE while any port is cabled or carries a cluster's VLAN.",
    )
    async def delete_switch(self, info: Ctx, name: str) -> DeletePayload:
        return await _deleted(info, name, editing.delete_switch(info.context.store, name))

    # ----------------------------------------------------------------- nodes
    @strawberry.mutation(
        permission_classes=[ProviderAdmin],
        description="Create a node with its GPUs, NICs and their cables to free switch ports.",
    )
    async def create_node(self, info: Ctx, node: NodeInput) -> Node:
        value = to_model(model.Node, node, "node", drop_null=editing.STATUS_FIELDS)
        await _edit(info, "node", editing.create_node(info.context.store, value))
        return await _reload(info, "Node", value.name, Node)

    @strawberry.mutation(
        permission_classes=[ProviderAdmin],
        description="Replace a node with its GPUs, NICs, cables, NVLinks and PCIe affinities; GPUs and NICs "
        "left out are deleted. IN_USE when the node is a cluster member and the update removes a NIC or cable "
        f"or sets its state. {_REPLACES}",
    )
    async def update_node(self, info: Ctx, node: NodeInput) -> Node:
        value = to_model(model.Node, node, "node", drop_null=editing.STATUS_FIELDS)
        await _edit(info, "node", editing.replace_node(info.context.store, value))
        return await _reload(info, "Node", value.name, Node)

    @strawberry.mutation(
        permission_classes=[ProviderAdmin],
        description="Delete a node with its GPUs, NICs and cables; IN_USE while it is allocated or in a cluster.",
    )
    async def delete_node(self, info: Ctx, name: str) -> DeletePayload:
        return await _deleted(info, name, editing.delete_node(info.context.store, name))

    @strawberry.mutation(
        permission_classes=[ProviderAdmin],
        description="Set a node's state, health or power state (e.g. into maintenance); what is left out is kept.",
    )
    async def set_node_status(
        self,
        info: Ctx,
        name: str,
        state: NodeState | None = None,  # type: ignore[valid-type]
        health: Health | None = None,  # type: ignore[valid-type]
        power_state: PowerState | None = None,  # type: ignore[valid-type]
    ) -> Node:
        call = editing.set_node_status(info.context.store, name, state=state, health=health, power_state=power_state)
        props = await _edit(info, "", call)
        return Node(props)

    # ----------------------------------------------------------------- links
    @strawberry.mutation(permission_classes=[ProviderAdmin], description="Cable two free switch ports together.")
    async def create_link(self, info: Ctx, link: LinkInput) -> Link:
        value = to_model(model.Link, link, "link")
        await _edit(info, "link", editing.create_link(info.context.store, value))
        return await _link(info, value)

    @strawberry.mutation(
        permission_classes=[ProviderAdmin],
        description="Remove the cable between two switch ports (in either orientation).",
    )
    async def delete_link(self, info: Ctx, a: PortRefInput, b: PortRefInput) -> DeletePayload:
        end_a, end_b = to_model(model.PortRef, a, "a"), to_model(model.PortRef, b, "b")
        name = f"{end_a.switch}/{end_a.port} -- {end_b.switch}/{end_b.port}"
        return await _deleted(info, name, _drop(editing.delete_link(info.context.store, end_a, end_b)))


async def _drop(call: Awaitable[Any]) -> None:
    await call


async def _link(info: Ctx, link: model.Link) -> Link:
    keys = [f"{end.switch}/{end.port}" for end in (link.a, link.b)]
    found = await info.context.loaders.vertex("Port").load_many(keys)
    if any(props is None for props in found):
        raise ApiError(Code.NOT_FOUND, f"switch port {keys[0]} or {keys[1]} not found")
    return Link(a=Port(found[0]), b=Port(found[1]), speed_gbps=link.speed_gbps)
