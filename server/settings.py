"""Server settings: environment variables (`METALGRAPH_*`), an optional TOML file, then defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .auth.oidc_config import OidcConfig

MIN_ADMIN_TOKEN_CHARS = 32

ENV_PREFIX = "METALGRAPH_"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("metalgraph"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", env_ignore_empty=True)

    store: str = Field(
        default="embedded",
        description="`embedded` (FalkorDB child process in the data directory) or a Neo4j URI such as bolt://host:7687",
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Where the embedded store keeps its files")
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds")
    port: int = Field(default=8080, ge=0, le=65535, description="Port the HTTP server binds")
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bootstrap bearer token with the provider-admin role (create real tokens with it); at least "
        f"{MIN_ADMIN_TOKEN_CHARS} characters",
    )
    loopback_reads: bool = Field(
        default=False,
        description="Requests without credentials from the server's own machine read as provider-viewer"
        " (on under `serve --demo`)",
    )
    metrics_loopback: bool = Field(
        default=True,
        description="/metrics answers the server's own machine without credentials (others need a provider token)",
    )
    graphiql: bool = Field(default=False, description="Serve the GraphiQL IDE at /graphql (on under `serve --demo`)")
    neo4j_user: str = Field(default="neo4j", description="Neo4j user (Neo4j store only)")
    neo4j_password: SecretStr | None = Field(default=None, description="Neo4j password; unset means no auth")
    neo4j_database: str = Field(default="neo4j", description="Neo4j database name")
    max_page_size: int = Field(default=1000, ge=1, description="Largest `first` a connection accepts")
    max_query_depth: int = Field(default=12, ge=1, description="Deepest GraphQL selection accepted")
    max_aliases: int = Field(default=30, ge=1, description="Most aliases one GraphQL document may use")
    max_document_chars: int = Field(
        default=100_000, ge=1000, description="Longest GraphQL document, in characters (data belongs in variables)"
    )
    max_document_tokens: int = Field(
        default=10_000, ge=100, description="Most tokens of one GraphQL document (the parser stops there)"
    )
    max_document_fields: int = Field(
        default=5_000, ge=100, description="Most fields one GraphQL document selects, its fragments expanded"
    )
    max_directives: int = Field(default=10, ge=1, description="Most directives on one field or fragment")
    max_variable_values: int = Field(
        default=20_000, ge=100, description="Most values (list items, object members) the variables of a request hold"
    )
    max_field_repeats: int = Field(
        default=50, ge=1, description="Most fields of one response name (alias or name) in one selection"
    )
    max_fragments: int = Field(default=200, ge=1, description="Most fragment definitions of one GraphQL document")
    max_query_cost: int = Field(
        default=200_000, ge=1, description="Largest estimated cost of one operation (page sizes multiply)"
    )
    rate_limit_per_s: float = Field(default=50.0, gt=0, description="Sustained requests per second per caller")
    rate_limit_burst: int = Field(default=200, ge=1, description="Requests a caller may make at once above the rate")
    oidc: OidcConfig | None = Field(
        default=None, description="OIDC bearer-JWT verification (Keycloak); a TOML [oidc] table or JSON"
    )
    validated_drivers: list[str] = Field(
        default=["bmc:redfish", "bmc:sim", "switch:snmp", "switch:sim"],
        description="Drivers (`kind:name`) that passed the conformance kit; no other driver touches a device",
    )
    secrets_file: Path | None = Field(
        default=None, description="TOML file of device credentials by reference name (never stored in the graph)"
    )
    device_timeout_s: float = Field(default=10.0, gt=0, description="Time limit of one call to a device")
    device_concurrency: int = Field(default=2, ge=1, description="Calls in flight to one device at a time")
    run_jobs: bool = Field(
        default=True, description="Whether this server runs cluster jobs and sanitization (any number of servers may)"
    )
    job_lease_s: float = Field(
        default=15.0,
        gt=0,
        description="Lease of a cluster job; another server resumes it this long after its owner died",
    )
    job_poll_s: float = Field(default=0.5, gt=0, description="How often a server looks for cluster jobs to run")
    boot_device: str = Field(
        default="pxe", pattern="^(pxe|disk|cd|usb|bios)$", description="What provisioned nodes boot from once"
    )
    max_cluster_nodes: int = Field(
        default=4096, ge=1, description="Most nodes one cluster may have (an admission rule)"
    )
    job_step_attempts: int = Field(
        default=3, ge=1, description="How often a job step may fail unexpectedly before the job rolls back"
    )
    sanitize_poll_s: float = Field(default=2.0, gt=0, description="How often a node's erase job is polled")
    held_vlan_retry_s: float = Field(
        default=60.0,
        gt=0,
        description="How often a failed cluster holding its VLAN (a switch was down) is tried again",
    )
    tenant_introspection: bool = Field(default=False, description="Whether tenant tokens may introspect the schema")
    max_request_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body accepted")
    request_timeout_s: float = Field(default=30.0, gt=0, description="Time limit of one GraphQL request")
    shutdown_grace_s: float = Field(
        default=3.0, gt=0, description="How long a stopping server lets open requests finish before it cancels them"
    )
    audit_refusal_window_s: float = Field(
        default=60.0,
        gt=0,
        description="Repeatable refusals (limits, anonymous callers): a window's first is audited, the rest counted",
    )
    audit_anonymous_refusals_per_window: int = Field(
        default=100,
        ge=1,
        description="Anonymous callers whose refusals are audited one by one per window; the rest are counted together",
    )
    credential_recheck_s: float = Field(
        default=5.0,
        gt=0,
        description="How often an open websocket's credentials are checked again; a revoked or expired token's "
        "connection is closed",
    )
    log_level: str = Field(default="info", description="Python log level")

    @field_validator("admin_token")
    @classmethod
    def _long_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        # The token's exact value is redacted wherever it appears, which tells whoever can read an audit
        # entry whether its text held the token: harmless only for a token too long to guess.
        if value is not None and len(value.get_secret_value()) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(
                f"admin_token must be at least {MIN_ADMIN_TOKEN_CHARS} characters of a random string "
                "(e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value == "embedded" or value.startswith(
            ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")
        ):
            return value
        raise ValueError("store must be 'embedded' or a Neo4j URI (bolt://host:7687)")

    @property
    def uses_neo4j(self) -> bool:
        return self.store != "embedded"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, file_secret_settings


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from, in order of precedence: `overrides`, the environment, `config_file`, defaults.

    The config file is TOML with the same keys as the environment variables, lower-case and
    without the prefix (`store = "bolt://db:7687"`).
    """
    from_file: dict[str, Any] = {}
    if config_file is not None:
        from_file = tomllib.loads(config_file.read_text())
    env_values = Settings().model_dump(exclude_unset=True)
    return Settings(**{**from_file, **env_values, **{k: v for k, v in overrides.items() if v is not None}})
