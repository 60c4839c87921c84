"""The options of `metalgraph cluster` and the `ClusterSpecInput` they make."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_type_hints

import typer

LEVELS = ("NVLINK_DOMAIN", "LEAF", "SPINE_POD", "SITE")
MODES = ("REQUIRED", "PREFERRED", "UNCONSTRAINED")

# --- options -------------------------------------------------------------------------------

JsonOption = Annotated[bool, typer.Option("--json", help="Plain JSON on stdout (for scripts).")]
TenantOption = Annotated[
    str | None,
    typer.Option("--tenant", help="The cluster's tenant (providers must name one; tenants act on their own)."),
]
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The cluster's name.", show_default=False)]
WaitOption = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job's events until the cluster rests.")]
NodesOpt = Annotated[int | None, typer.Option("--nodes", min=1, help="Whole nodes wanted (or --gpus).")]
GpusOpt = Annotated[int | None, typer.Option("--gpus", min=1, help="GPUs wanted (or --nodes).")]
GpuModelOpt = Annotated[str | None, typer.Option("--gpu-model", help="GPU model, e.g. H100-SXM5-80GB.")]
GpusPerNodeOpt = Annotated[int | None, typer.Option("--gpus-per-node", min=1, help="Least GPUs per node.")]
CpuCoresOpt = Annotated[int | None, typer.Option("--cpu-cores", min=1, help="Least CPU cores per node.")]
MemoryOpt = Annotated[float | None, typer.Option("--memory-gb", min=0, help="Least memory per node (GB).")]
StorageOpt = Annotated[float | None, typer.Option("--storage-gb", min=0, help="Least local storage per node (GB).")]
BackendOpt = Annotated[
    float | None, typer.Option("--backend-gbps", min=0, help="Least speed of each backend NIC (Gbps).")
]
LevelOpt = Annotated[
    str,
    typer.Option("--level", help="Topology level to keep the nodes in: nvlink-domain, leaf, spine-pod, site."),
]
ModeOpt = Annotated[str, typer.Option("--mode", help="How strict the level is: required, preferred, unconstrained.")]
MaxHopsOpt = Annotated[int | None, typer.Option("--max-hops", min=0, help="Most switch hops between two nodes.")]
SiteOpt = Annotated[list[str] | None, typer.Option("--site", help="Allowed site; repeatable.")]
RegionOpt = Annotated[list[str] | None, typer.Option("--region", help="Allowed region; repeatable.")]
JurisdictionOpt = Annotated[list[str] | None, typer.Option("--jurisdiction", help="Allowed jurisdiction; repeatable.")]
CertificationOpt = Annotated[
    list[str] | None, typer.Option("--certification", help="Certification the site must hold; repeatable.")
]
UnhealthyOpt = Annotated[bool, typer.Option("--include-unhealthy", help="Also consider unhealthy nodes.")]
MaintenanceOpt = Annotated[bool, typer.Option("--include-maintenance", help="Also consider nodes in maintenance.")]
LinkErrorsOpt = Annotated[
    bool, typer.Option("--include-link-errors", help="Also consider nodes whose links report errors.")
]


def enum_value(text: str, choices: tuple[str, ...], what: str) -> str:
    """`spine-pod`, `spine_pod` and `SPINE_POD` all as the API's `SPINE_POD`; ValueError otherwise."""
    value = text.strip().upper().replace("-", "_")
    if value not in choices:
        raise ValueError(f"unknown {what} {text!r}; expected one of {', '.join(label(c) for c in choices)}")
    return value


def label(value: str | None) -> str:
    """An API enum value as the CLI spells it: `SPINE_POD` as `spine-pod`."""
    return (value or "-").lower().replace("_", "-")


def spec_input(
    nodes: NodesOpt = None,
    gpus: GpusOpt = None,
    gpu_model: GpuModelOpt = None,
    gpus_per_node: GpusPerNodeOpt = None,
    cpu_cores: CpuCoresOpt = None,
    memory_gb: MemoryOpt = None,
    storage_gb: StorageOpt = None,
    backend_gbps: BackendOpt = None,
    level: LevelOpt = "leaf",
    mode: ModeOpt = "preferred",
    max_hops: MaxHopsOpt = None,
    site: SiteOpt = None,
    region: RegionOpt = None,
    jurisdiction: JurisdictionOpt = None,
    certification: CertificationOpt = None,
    include_unhealthy: UnhealthyOpt = False,
    include_maintenance: MaintenanceOpt = False,
    include_link_errors: LinkErrorsOpt = False,
) -> dict[str, Any]:
    """The `ClusterSpecInput` the options describe; ValueError for options that cannot go together.
    Fields left unset are not sent, so the server's defaults apply."""
    if (nodes is None) == (gpus is None):
        raise ValueError("give exactly one of --nodes and --gpus")
    spec: dict[str, Any] = {
        "nodes": nodes,
        "gpus": gpus,
        "gpuModel": gpu_model,
        "gpusPerNode": gpus_per_node,
        "cpuCores": cpu_cores,
        "memoryGb": memory_gb,
        "storageGb": storage_gb,
        "backendGbps": backend_gbps,
        "maxHops": max_hops,
    }
    spec = {k: v for k, v in spec.items() if v is not None}
    spec["level"] = enum_value(level, LEVELS, "level")
    spec["mode"] = enum_value(mode, MODES, "mode")
    for key, values in (
        ("sites", site),
        ("regions", region),
        ("jurisdictions", jurisdiction),
        ("certifications", certification),
    ):
        if values:
            spec[key] = list(values)
    spec["excludeUnhealthy"] = not include_unhealthy
    spec["excludeMaintenance"] = not include_maintenance
    spec["excludeLinkErrors"] = not include_link_errors
    return spec


def with_spec_options(on_bad_input: Callable[[str], Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A command decorator: the command's `spec` parameter becomes the options of `spec_input`
    (`--nodes`, `--gpus`, `--level`, ...) in the command's help, and the command gets the
    `ClusterSpecInput` they make; options that cannot go together go to `on_bad_input` with the
    reason."""
    spec_params = list(inspect.signature(spec_input, eval_str=True).parameters.values())
    spec_hints = get_type_hints(spec_input, include_extras=True)

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True).parameters
        before = [p for p in own.values() if p.name != "spec"][: list(own).index("spec")]
        after = [p for p in own.values() if p.name != "spec"][len(before) :]

        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            options = {p.name: values.pop(p.name) for p in spec_params}
            try:
                spec = spec_input(**options)
            except ValueError as e:
                on_bad_input(str(e))
                return
            command(spec=spec, **values)

        hints = {k: v for k, v in get_type_hints(command, include_extras=True).items() if k not in ("spec", "return")}
        wrapper.__signature__ = inspect.Signature([*before, *spec_params, *after])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**hints, **{k: v for k, v in spec_hints.items() if k != "return"}}
        return wrapper

    return decorate
