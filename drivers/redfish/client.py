"""One sushy connection to one BMC, used from async code.

sushy is synchronous: every call runs in a worker thread (`asyncio.to_thread`). The caller bounds the
whole operation with `asyncio.timeout` (see `RedfishBmc._bounded`); requests' own connect/read
timeouts are set to the same budget so an abandoned thread ends soon after. sushy's retries are
reduced to the minimum it allows (one attempt on transport errors, one retry of a GET that got a 5xx):
retries are the caller's business.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sushy  # type: ignore[import-untyped]
from sushy import auth as sushy_auth  # type: ignore[import-untyped]
from sushy import connector as sushy_connector  # type: ignore[import-untyped]
from sushy.resources.system.system import System  # type: ignore[import-untyped]

from ..errors import MalformedResponse, Unsupported
from ..types import DeviceConfig
from .doc import SERVICE_ROOT, Doc, relative
from .translate import translate

log = logging.getLogger(__name__)
T = TypeVar("T")

AUTH_MODES = {"auto": sushy_auth.SessionOrBasicAuth, "session": sushy_auth.SessionAuth, "basic": sushy_auth.BasicAuth}


@dataclass(frozen=True)
class Reply:
    """An HTTP answer to an action: status, the headers the caller needs, the JSON body if any."""

    status: int
    location: str
    body: Doc | None


class RedfishClient:
    """Lazily connects (service root + authentication) on first use; `close()` ends the session."""

    def __init__(self, config: DeviceConfig) -> None:
        self.config = config
        parts = urlsplit(config.address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Unsupported(f"address must be an http(s) URL, got {config.address!r}")
        if parts.username or parts.password:
            raise Unsupported("credentials belong in config.credentials, not in the address", device=parts.hostname)
        self.device = f"{parts.scheme}://{parts.netloc}"
        self._base_url = self.device
        verify = config.options.get("verify_tls", True)
        if not isinstance(verify, bool | str):
            raise Unsupported("option verify_tls must be a boolean (or a CA bundle path)", device=self.device)
        self._verify = verify
        mode = config.options.get("auth", "auto")
        if mode not in AUTH_MODES:
            raise Unsupported(f"option auth must be one of {sorted(AUTH_MODES)}", device=self.device)
        self._auth_mode = mode
        parallel = config.options.get("max_parallel_requests", 4)
        if not isinstance(parallel, int) or isinstance(parallel, bool) or parallel < 1:
            raise Unsupported("option max_parallel_requests must be a positive integer", device=self.device)
        self._parallel = asyncio.Semaphore(parallel)
        self._connect_lock = asyncio.Lock()
        self._root: sushy.Sushy | None = None
        self._auth: sushy_auth.AuthBase | None = None

    # --- plumbing -----------------------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any, method: str = "GET", path: str = "", **kwargs: Any) -> T:
        """Run the sushy call `fn(*args, **kwargs)` in a worker thread, translating its errors."""
        try:
            async with self._parallel:
                return await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as error:
            raise translate(error, device=self.device, method=method, path=path) from error

    async def root(self) -> sushy.Sushy:
        """The sushy service root, connecting and authenticating on first use."""
        async with self._connect_lock:
            if self._root is None:
                self._root = await self.run(self._connect, path=SERVICE_ROOT)
            return self._root

    def _connect(self) -> sushy.Sushy:
        credentials = self.config.credentials
        auth = AUTH_MODES[self._auth_mode](
            username=credentials.require("username"), password=credentials.require("password")
        )
        timeout = self.config.timeout_s
        root = sushy.Sushy(
            self._base_url,
            auth=auth,
            verify=self._verify,
            server_side_retries=1,
            server_side_retries_delay=0.1,
            read_timeout=timeout,
            connect_timeout=timeout,
        )
        self._auth = auth
        return root

    async def _conn(self) -> sushy_connector.Connector:
        return (await self.root())._conn

    async def close(self) -> None:
        """End the Redfish session (if one was created) and drop the HTTP session. Never raises."""
        root, auth, self._root, self._auth = self._root, self._auth, None, None
        if root is None:
            return
        try:
            async with asyncio.timeout(self.config.timeout_s):
                if auth is not None:
                    await asyncio.to_thread(auth.close)
                await asyncio.to_thread(root._conn.close)
        except Exception as error:  # close() never raises: the session simply expires on the BMC
            log.debug("closing the Redfish session with %s failed: %s", self.device, type(error).__name__)

    # --- reads --------------------------------------------------------------------------------

    async def get(self, path: str) -> Doc:
        """GET `path` as a JSON object."""
        reply = await self.get_reply(path)
        return reply.body or Doc({}, relative(path), device=self.device)

    async def get_optional(self, path: str | None) -> Doc | None:
        """GET `path`; None when there is no link or the BMC answers 404 (a link it advertises but
        does not serve is taken as "not reported", a common firmware gap)."""
        if not path:
            return None
        try:
            return await self.get(path)
        except MalformedResponse as error:
            if isinstance(error.__cause__, sushy.exceptions.ResourceNotFoundError):
                log.debug("%s: %s is advertised but not found", self.device, path)
                return None
            raise

    async def members(self, collection: str | None) -> list[Doc]:
        """The member documents of a collection (fetched concurrently, bounded); empty without one."""
        doc = await self.get_optional(collection)
        if doc is None:
            return []
        found = await asyncio.gather(*(self.get_optional(uri) for uri in doc.members()))
        return [member for member in found if member is not None]

    async def system(self, path: str) -> System:
        """The sushy `System` resource at `path` (read fresh)."""
        root = await self.root()
        return await self.run(root.get_system, path, path=path)

    # --- writes -------------------------------------------------------------------------------

    async def post(self, path: str, body: dict[str, Any]) -> Reply:
        """POST an action without waiting for a task (`blocking=False`); any 2xx is returned."""
        conn = await self._conn()
        response = await self.run(conn.post, path, data=body, blocking=False, method="POST", path=path)
        parsed: Doc | None = None
        if response.content:
            try:
                parsed = Doc(response.json(), relative(path), device=self.device)
            except (ValueError, MalformedResponse):  # an action's body is optional; Location also leads to a task
                parsed = None
        return Reply(response.status_code, response.headers.get("Location", ""), parsed)

    async def get_reply(self, path: str) -> Reply:
        """GET `path` keeping the status (a task monitor answers 202 while its task runs)."""
        conn = await self._conn()
        response = await self.run(conn.get, path, path=path)
        parsed: Doc | None = None
        if response.content:
            try:
                parsed = Doc(response.json(), relative(path), device=self.device)
            except ValueError as error:
                raise translate(error, device=self.device, method="GET", path=path) from error
        return Reply(response.status_code, response.headers.get("Location", ""), parsed)
