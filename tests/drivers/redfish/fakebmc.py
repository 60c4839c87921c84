"""A loopback Redfish service serving recorded documents, with just enough behaviour for the driver:
sessions and basic auth, `ComputerSystem.Reset` (applied after `power_lag` reads of the system, as
BMCs take a moment), boot override PATCH, `Drive.SecureErase` answered with a task, a task monitor, at
once, a failing task or a refusal, and raw overrides to serve garbage or errors."""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

ROOT = "/redfish/v1"
SESSIONS = f"{ROOT}/SessionService/Sessions"
RESET_STATES = {"On": "On", "ForceOn": "On", "ForceOff": "Off", "GracefulShutdown": "Off", "PushPowerButton": "Off"}
RESTARTS = {"ForceRestart", "PowerCycle", "GracefulRestart"}


def key(path: str) -> str:
    return urlsplit(path).path.rstrip("/") or "/"


def error_body(message: str, message_id: str = "Base.1.8.GeneralError") -> dict[str, Any]:
    return {
        "error": {
            "code": message_id,
            "message": message,
            "@Message.ExtendedInfo": [{"MessageId": message_id, "Message": message, "Severity": "Warning"}],
        }
    }


class FakeBmc:
    """Serves `docs` (URI -> JSON document) at `url`. Attributes tests adjust are documented inline."""

    def __init__(self, docs: dict[str, Any], *, username: str = "admin", password: str = "secret") -> None:
        self.docs = {key(path): copy.deepcopy(doc) for path, doc in docs.items()}
        self.username, self.password = username, password
        self.sessions: dict[str, str] = {}  # token -> session URI
        self.requests: list[tuple[str, str]] = []  # (method, path) in order
        self.bodies: list[tuple[str, Any]] = []  # (path, JSON body) of each POST and PATCH
        self.overrides: dict[str, tuple[int, bytes]] = {}  # path -> (status, raw body) served on GET
        self.delays: dict[str, float] = {}  # path -> seconds to stall before answering
        self.power_lag = 1  # reads of the system that still show the old state after a reset
        self.ignored_resets: set[str] = set()  # reset types accepted but never applied
        self.reject_patch = False
        self.erase: dict[str, str] = {}  # drive path -> task | monitor | sync | fail | reject (default task)
        self.tasks: dict[str, list[tuple[int, dict[str, Any] | None]]] = {}
        self._pending: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.bmc = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, method: str) -> list[str]:
        return [path for verb, path in self.requests if verb == method]

    # --- dispatch -----------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, body: Any) -> tuple[int, dict[str, str], bytes]:
        path = key(path)
        with self._lock:
            self.requests.append((method, path))
            if method in ("POST", "PATCH") and path != SESSIONS:
                self.bodies.append((path, body))
        if path in self.delays:
            time.sleep(self.delays[path])
        if method == "POST" and path == SESSIONS:
            return self._login(body)
        if not (method == "GET" and path == ROOT) and not self._authorized(headers):
            return self._json(401, error_body("Unauthorized", "Base.1.8.InsufficientPrivilege"))
        with self._lock:
            if method == "GET":
                return self._get(path)
            if method == "DELETE" and path in self.sessions.values():
                self.sessions = {t: uri for t, uri in self.sessions.items() if uri != path}
                return 204, {}, b""
            if method == "POST" and path.endswith("/Actions/ComputerSystem.Reset"):
                return self._reset(path.rsplit("/Actions", 1)[0], body)
            if method == "POST" and path.endswith("/Actions/Drive.SecureErase"):
                return self._erase(path.rsplit("/Actions", 1)[0])
            if method == "PATCH" and path in self.docs:
                return self._patch(path, body)
        return self._json(405, error_body(f"{method} not allowed on {path}"))

    @staticmethod
    def _json(status: int, doc: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(doc).encode()

    def _authorized(self, headers: Any) -> bool:
        if headers.get("X-Auth-Token") in self.sessions:
            return True
        scheme, _, value = (headers.get("Authorization") or "").partition(" ")
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return scheme.lower() == "basic" and value == expected

    def _login(self, body: Any) -> tuple[int, dict[str, str], bytes]:
        if not isinstance(body, dict) or (body.get("UserName"), body.get("Password")) != (self.username, self.password):
            return self._json(401, error_body("Invalid username or password", "Base.1.8.NoValidSession"))
        uri = f"{SESSIONS}/{len(self.sessions) + 1}"
        token = f"token-{len(self.sessions) + 1}"
        self.sessions[token] = uri
        return self._json(
            201,
            {"@odata.id": uri, "Id": uri.rsplit("/", 1)[1], "UserName": self.username},
            {"X-Auth-Token": token, "Location": uri},
        )

    def _get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path in self.overrides:
            status, raw = self.overrides[path]
            return status, {"Content-Type": "application/json"}, raw
        if path in self.tasks:
            states = self.tasks[path]
            status, doc = states.pop(0) if len(states) > 1 else states[0]
            return (status, {}, b"") if doc is None else self._json(status, doc)
        pending = self._pending.get(path)
        if pending is not None:
            if pending[1] <= 0:
                self.docs[path]["PowerState"] = pending[0]
                del self._pending[path]
            pending[1] -= 1
        if path not in self.docs:
            return self._json(404, error_body(f"{path} not found", "Base.1.8.ResourceMissingAtURI"))
        doc = self.docs[path]
        return self._json(200, doc, {"ETag": f'W/"{abs(hash(json.dumps(doc, sort_keys=True)))}"'})

    def _reset(self, system: str, body: Any) -> tuple[int, dict[str, str], bytes]:
        reset = body.get("ResetType") if isinstance(body, dict) else None
        action = self.docs[system]["Actions"]["#ComputerSystem.Reset"]
        allowed = action.get("ResetType@Redfish.AllowableValues")
        if allowed is not None and reset not in allowed:
            return self._json(
                400, error_body(f"ResetType {reset} not supported", "Base.1.8.ActionParameterNotSupported")
            )
        if reset in self.ignored_resets:
            return 204, {}, b""
        if reset in RESTARTS:
            self.docs[system]["PowerState"] = "Off"
            self._pending[system] = ["On", self.power_lag]
        elif reset in RESET_STATES:
            self._pending[system] = [RESET_STATES[reset], self.power_lag]
        else:
            return self._json(400, error_body(f"ResetType {reset} unknown", "Base.1.8.ActionParameterUnknown"))
        return 204, {}, b""

    def _patch(self, path: str, body: Any) -> tuple[int, dict[str, str], bytes]:
        if self.reject_patch or not isinstance(body, dict):
            return self._json(
                400, error_body("The property BootSourceOverrideTarget is read-only", "Base.1.8.PropertyNotWritable")
            )
        for name, value in body.items():
            if isinstance(value, dict) and isinstance(self.docs[path].get(name), dict):
                self.docs[path][name].update(value)
            else:
                self.docs[path][name] = value
        return 204, {}, b""

    def _task(self, number: int, state: str, percent: int, status: str = "OK", message: str = "") -> dict[str, Any]:
        messages = [{"MessageId": "Base.1.8.GeneralError", "Message": message}] if message else []
        uri = f"{ROOT}/TaskService/Tasks/{number}"
        return {"@odata.id": uri, "@odata.type": "#Task.v1_7_1.Task", "Id": str(number), "Name": "Secure erase",
                "TaskState": state, "TaskStatus": status, "PercentComplete": percent, "Messages": messages}  # fmt: skip

    def _erase(self, drive: str) -> tuple[int, dict[str, str], bytes]:
        mode = self.erase.get(drive, "task")
        number = len(self.tasks) + 1
        task_uri, monitor_uri = f"{ROOT}/TaskService/Tasks/{number}", f"{ROOT}/TaskService/TaskMonitors/{number}"
        if mode == "reject":
            return self._json(400, error_body("The drive is locked", "Base.1.8.ActionNotSupported"))
        if mode == "sync":
            return 204, {}, b""
        if mode == "monitor":
            self.tasks[monitor_uri] = [(202, None), (204, None)]
            return 202, {"Location": monitor_uri}, b""
        if mode == "fail":
            failed = self._task(number, "Exception", 10, "Critical", "Sanitize failed: drive is write-protected")
            self.tasks[task_uri] = [(200, self._task(number, "Running", 10)), (200, failed)]
        else:
            self.tasks[task_uri] = [
                (200, self._task(number, "Running", 50)),
                (200, self._task(number, "Completed", 100)),
            ]
        return self._json(202, self._task(number, "New", 0), {"Location": monitor_uri})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, headers, payload = self.server.bmc.handle(self.command, self.path, self.headers, body)  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")  # one request per connection, announced (as BMCs do)
        self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve
