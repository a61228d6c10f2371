"""A small OpenAPI 3.0 request checker for the MaintainX contract test.

It covers what our requests use — path templates, path/query/header parameters, JSON bodies (type, nullable,
enum, required, properties, items, oneOf/anyOf/allOf, $ref, minimum/maximum) and declared content types —
because no OpenAPI validator is among the project's dependencies. It reports problems, it does not raise.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.http import Recorded
from tests.photos import SHARED_DATA

SPEC_PATH = SHARED_DATA / "cmms" / "maintainx-openapi.json"
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def load_spec() -> dict[str, Any] | None:
    return json.loads(SPEC_PATH.read_text()) if SPEC_PATH.exists() else None


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validate(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    schema = _resolve(spec, schema)
    if value is None:
        return [] if schema.get("nullable") or not schema else [f"{where}: null not allowed"]
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            matches = [not validate(spec, option, value, where) for option in schema[combinator]]
            ok = sum(matches) == 1 if combinator == "oneOf" else any(matches)
            return [] if ok else [f"{where}: {value!r} matches {sum(matches)} of {combinator}"]
    errors = [e for part in schema.get("allOf", []) for e in validate(spec, part, value, where)]
    kind = schema.get("type")
    wrong_type = kind is not None and not isinstance(value, _TYPES[kind])
    if wrong_type or (isinstance(value, bool) and kind in {"integer", "number"}):
        return [*errors, f"{where}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [f"{where}: missing {name}" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name in properties:
                errors += validate(spec, properties[name], item, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected {name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += validate(spec, schema["items"], item, f"{where}[{index}]")
    return errors


def _coerce(schema: dict[str, Any], raw: str) -> Any:
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return float(raw)
    if kind == "boolean" and raw in {"true", "false"}:
        return raw == "true"
    return raw


def _find_path(spec: dict[str, Any], path: str) -> tuple[str, dict[str, Any], re.Match[str]] | None:
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        if match := re.match(pattern, path):
            return template, item, match
    return None


def check_request(spec: dict[str, Any], request: Recorded) -> list[str]:
    """Problems with one recorded request against the spec (empty when it conforms)."""
    found = _find_path(spec, request.path)
    if found is None:
        return [f"{request.method} {request.path}: no such path"]
    template, item, match = found
    operation = item.get(request.method.lower())
    if operation is None:
        return [f"{request.method} {template}: no such operation"]
    where = f"{request.method} {template}"
    errors: list[str] = []
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        errors.append(f"{where}: no bearer token")
    params = [_resolve(spec, p) for p in item.get("parameters", []) + operation.get("parameters", [])]
    declared = {(p["in"], p["name"].lower()): p for p in params}
    for name, value in match.groupdict().items():
        schema = declared[("path", name.lower())].get("schema", {})
        errors += validate(spec, schema, _coerce(schema, value), f"{where} path {name}")
    for name, values in request.query.items():
        param = declared.get(("query", name.lower()))
        if param is None:
            errors.append(f"{where}: undeclared query parameter {name}")
            continue
        schema = _resolve(spec, param.get("schema", {}))
        if schema.get("type") == "array":
            value: Any = [_coerce(_resolve(spec, schema.get("items", {})), v) for v in values]
        else:
            value = _coerce(schema, values[-1])
        errors += validate(spec, schema, value, f"{where} query {name}")
    for (location, name), param in declared.items():
        if location == "header" and name in request.headers:
            schema = param.get("schema", {})
            errors += validate(spec, schema, _coerce(schema, request.headers[name]), f"{where} header {name}")
        if param.get("required") and location == "query" and param["name"] not in request.query:
            errors.append(f"{where}: missing required query {param['name']}")
    body = operation.get("requestBody")
    if body is not None:
        content = _resolve(spec, body)["content"]
        mime = request.headers.get("content-type", "").split(";")[0].strip()
        if mime not in content:
            errors.append(f"{where}: content type {mime!r} not declared")
        elif mime == "application/json":
            errors += validate(spec, content[mime]["schema"], request.json(), f"{where} body")
    elif request.body:
        errors.append(f"{where}: body sent but none declared")
    return errors
