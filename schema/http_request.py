"""What a GraphQL request over HTTP must look like: one operation, as a JSON object in a POST body or as
GET query parameters. Anything else is a `BadRequest` whose message says what was wrong."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class BadRequest(Exception):
    """The request is not a GraphQL request; the message is safe to show to the caller."""


@dataclass(frozen=True)
class OperationRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _json(text: str | bytes, what: str) -> Any:
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text)
    except UnicodeDecodeError as e:
        raise BadRequest(f"{what} is not UTF-8 (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise BadRequest(f"{what} is not JSON: {e.msg} at position {e.pos}") from None
    except RecursionError:
        raise BadRequest(f"{what} is nested too deeply") from None


def _object_or_null(value: Any, key: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise BadRequest(f"`{key}` must be a JSON object or null, not {payload_kind(value)}")


def payload_kind(value: Any) -> str:
    """What a JSON value is, for a message saying what was expected instead ("an array")."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    kinds: dict[type, str] = {str: "a string", list: "an array", dict: "an object"}
    return kinds.get(type(value), "null")


def _count_values(value: Any, limit: int) -> None:
    """Refuses variables of more than `limit` values (each costs coercion time before any check)."""
    pending, seen = [value], 0
    while pending:
        item = pending.pop()
        seen += 1
        if seen > limit:
            raise BadRequest(f"`variables` hold more than {limit} values")
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def operation_request(fields: Mapping[str, Any], max_values: int) -> OperationRequest:
    """The operation of a request's fields (a JSON body's members, or parsed query parameters)."""
    query = fields.get("query")
    if query is None or query == "":
        raise BadRequest("no GraphQL query in the request (`query`)")
    if not isinstance(query, str):
        raise BadRequest(f"`query` must be a string, not {payload_kind(query)}")
    name = fields.get("operationName")
    if name is not None and not isinstance(name, str):
        raise BadRequest(f"`operationName` must be a string or null, not {payload_kind(name)}")
    variables = _object_or_null(fields.get("variables"), "variables")
    _count_values(variables, max_values)
    return OperationRequest(
        query=query,
        variables=variables,
        operation_name=name,
        extensions=_object_or_null(fields.get("extensions"), "extensions"),
    )


def from_json_body(body: bytes, max_values: int) -> OperationRequest:
    data = _json(body, "the request body")
    if isinstance(data, list):
        raise BadRequest("batched requests (a JSON array) are not supported: send one operation per request")
    if not isinstance(data, dict):
        raise BadRequest(f"the request body must be a JSON object with a `query`, not {payload_kind(data)}")
    return operation_request(data, max_values)


def from_query_parameters(parameters: Mapping[str, str | None], max_values: int) -> OperationRequest:
    fields: dict[str, Any] = dict(parameters)
    for key in ("variables", "extensions"):
        if fields.get(key):
            fields[key] = _json(fields[key], f"the `{key}` parameter")
    return operation_request(fields, max_values)


def from_http(
    method: str, content_type: str, parameters: Mapping[str, str | None], body: bytes, max_values: int
) -> OperationRequest:
    """The operation of an HTTP request; `max_values` bounds the values its variables may hold."""
    if method == "GET":
        return from_query_parameters(parameters, max_values)
    if content_type.split(";")[0].strip().lower() != "application/json":
        given = content_type[:100] or "none"
        raise BadRequest(f"a GraphQL POST must be `Content-Type: application/json`, not {given!r}")
    return from_json_body(body, max_values)
