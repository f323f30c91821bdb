"""Validate custom resources against the operators' own CRD schemas (k3s/schemas/), offline.

A CRD's `openAPIV3Schema` is a Kubernetes *structural schema*, not JSON Schema: the API
server prunes (or, with kubectl's default strict field validation, refuses) every field
the schema does not name, unless the node says `x-kubernetes-preserve-unknown-fields`.
`translate` turns one into a JSON Schema (draft 2020-12) that behaves the same way:

- an object node with `properties` or nothing at all gets `additionalProperties: false`,
  except under `x-kubernetes-preserve-unknown-fields: true` or when it names its own
  `additionalProperties` (a map);
- `x-kubernetes-embedded-resource` objects may also carry apiVersion, kind and metadata;
- `x-kubernetes-int-or-string` is `type: [integer, string]`, `nullable` adds `null`;
- OpenAPI's boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric forms;
- `x-kubernetes-list-type: set` is `uniqueItems`, `map` lists must not repeat their keys
  (checked by `list_map_errors`);
- allOf/anyOf/oneOf/not are value checks only in a structural schema (they may not
  introduce fields), so they are kept as they are, without the unknown-field rule;
- the root's `metadata` is checked as ObjectMeta (the fields a manifest may set), and
  apiVersion/kind must be the CRD's.

Knative's admission webhooks decode with unknown fields disallowed (`true` "Whether to
disallow unknown fields" in knative/eventing and knative/serving cmd/webhook/main.go), so
for the Knative groups a `x-kubernetes-preserve-unknown-fields` node that lists its
properties is closed as well; the few Go-type fields those CRDs leave out because a
feature flag gates them (DeliverySpec's timeout, retryAfterMax, format) are added back
from knative/eventing pkg/apis/duck/v1/delivery_types.go (WEBHOOK_FIELDS). Free-form
nodes (no properties: the feature-gated parts of a Knative pod spec) stay open, and the
pod template is checked against Kubernetes' PodSpec by the tests instead.

The CEL rules of the schemas (`x-kubernetes-validations`) are evaluated with cel-python on
every node of a manifest that has them (`cel_errors`; transition rules, which compare
with `oldSelf`, need a stored object and are skipped).

Not checked: formats, defaults, and what the operators' admission webhooks add on top.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[2] / "k3s" / "schemas"
DROPPED = {"description", "default", "example", "format", "externalDocs", "nullable", "x-kubernetes-validations",
           "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
           "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type"}
NAME = {"type": "string", "maxLength": 253, "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"}
OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": NAME,
        "namespace": NAME,
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}


WEBHOOK_STRICT_GROUPS = {"serving.knative.dev", "eventing.knative.dev", "sources.knative.dev"}
_DELIVERY_GATED = {"timeout": {"type": "string"}, "retryAfterMax": {"type": "string"},
                   "format": {"type": "string", "enum": ["json", "binary"]}}
WEBHOOK_FIELDS: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {
    "eventing.knative.dev/v1/Trigger": {("spec", "delivery"): _DELIVERY_GATED},
    "eventing.knative.dev/v1/Broker": {("spec", "delivery"): _DELIVERY_GATED},
}
UNCHECKED_PATTERNS: set[str] = set()


def go_pattern(pattern: str) -> str | None:
    """A Go (RE2) pattern as Python's re reads it; None (and noted) where it cannot.

    RE2 takes flags such as `(?i)` anywhere; Python only at the start, where they apply to
    the whole pattern, which is what every upstream use here means (`^(?i)(abort|warn)?$`).
    """
    flags = "".join(sorted(set("".join(re.findall(r"\(\?([imsU]+)\)", pattern)))))
    if flags:
        pattern = f"(?{flags})" + re.sub(r"\(\?[imsU]+\)", "", pattern)
    pattern = pattern.replace(r"\z", r"\Z")
    try:
        re.compile(pattern)
    except re.error:
        UNCHECKED_PATTERNS.add(pattern)
        return None
    return pattern


def _value_only(node: Any) -> Any:
    """A schema under allOf/anyOf/oneOf/not: kept, without documentation keys."""
    if isinstance(node, dict):
        return {k: _value_only(v) for k, v in node.items() if k not in DROPPED}
    if isinstance(node, list):
        return [_value_only(v) for v in node]
    return node


def translate(node: dict[str, Any], webhook_strict: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED:
            continue
        if key == "properties":
            out[key] = {name: translate(child, webhook_strict) for name, child in value.items()}
        elif key == "items":
            out[key] = translate(value, webhook_strict) if isinstance(value, dict) else value
        elif key == "additionalProperties":
            out[key] = translate(value, webhook_strict) if isinstance(value, dict) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_value_only(child) for child in value]
        elif key == "not":
            out[key] = _value_only(value)
        elif key == "pattern":
            pattern = go_pattern(value)
            if pattern is not None:
                out[key] = pattern
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if value and bound in node:
                out[key] = node[bound]
        else:
            out[key] = value
    if out.get("exclusiveMinimum") is not None and "minimum" in out and isinstance(node.get("exclusiveMinimum"), bool):
        del out["minimum"]
    if out.get("exclusiveMaximum") is not None and "maximum" in out and isinstance(node.get("exclusiveMaximum"), bool):
        del out["maximum"]
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    is_object = node.get("type") == "object" or ("type" not in node and "properties" in node)
    preserved = node.get("x-kubernetes-preserve-unknown-fields") and not (webhook_strict and node.get("properties"))
    if is_object and not preserved and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if node.get("x-kubernetes-embedded-resource"):
        out.setdefault("properties", {})
        out["properties"].setdefault("apiVersion", {"type": "string"})
        out["properties"].setdefault("kind", {"type": "string"})
        out["properties"].setdefault("metadata", {"type": "object"})
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def list_map_errors(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """`x-kubernetes-list-type: map` lists must not hold two items with the same keys."""
    errors: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, child in value.items():
            sub = properties.get(key) or (schema.get("additionalProperties")
                                          if isinstance(schema.get("additionalProperties"), dict) else None)
            if sub:
                errors += list_map_errors(sub, child, f"{path}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        if schema.get("x-kubernetes-list-type") == "map":
            keys = schema.get("x-kubernetes-list-map-keys", [])
            seen = set()
            for item in value:
                if isinstance(item, dict):
                    identity = tuple(json.dumps(item.get(k)) for k in keys)
                    if identity in seen:
                        errors.append(f"{path}: two items with the same {', '.join(keys)} {identity}")
                    seen.add(identity)
        for index, item in enumerate(value):
            errors += list_map_errors(schema["items"], item, f"{path}/{index}")
    return errors


@cache
def _cel_program(rule: str) -> Any:
    import celpy

    environment = celpy.Environment()
    return environment.program(environment.compile(rule))


def cel_errors(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """The schema's CEL rules on `value` and below, as the API server evaluates them."""
    import celpy

    errors: list[str] = []
    for validation in schema.get("x-kubernetes-validations", []):
        rule = validation["rule"]
        if "oldSelf" in rule:
            continue
        try:
            result = _cel_program(rule).evaluate({"self": celpy.json_to_cel(value)})
        except Exception as exc:  # an evaluation error is a refusal too
            result = exc
        if result is not True and not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            errors.append(f"{path or '(root)'}: {validation.get('message') or 'failed rule'} ({rule})")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            sub = properties.get(key) or (extra if isinstance(extra, dict) else None)
            if sub:
                errors += cel_errors(sub, child, f"{path}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for position, item in enumerate(value):
            errors += cel_errors(schema["items"], item, f"{path}/{position}")
    return errors


def index() -> list[dict[str, str]]:
    return json.loads((SCHEMAS / "sources.json").read_text())


class CrdValidator:
    """One kind at one version: `errors(document)` lists what the API server would refuse."""

    def __init__(self, api_version: str, kind: str, structural: dict[str, Any]) -> None:
        self.api_version, self.kind = api_version, kind
        structural = copy.deepcopy(structural)
        for path, fields in WEBHOOK_FIELDS.get(f"{api_version}/{kind}", {}).items():
            node = structural
            for step in path:
                node = node["properties"][step]
            for name, field in fields.items():
                node["properties"].setdefault(name, field)
        self.structural = structural
        schema = translate(structural, api_version.split("/", maxsplit=1)[0] in WEBHOOK_STRICT_GROUPS)
        schema.setdefault("properties", {})
        schema["properties"]["apiVersion"] = {"const": api_version}
        schema["properties"]["kind"] = {"const": kind}
        schema["properties"]["metadata"] = OBJECT_META
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
        schema["additionalProperties"] = False
        self.schema = schema
        self.validator = Draft202012Validator(schema)

    def errors(self, document: dict[str, Any]) -> list[str]:
        found = []
        for error in sorted(self.validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
            where = "/".join(map(str, error.absolute_path)) or "(root)"
            message = error.message
            if error.validator == "additionalProperties" and error.validator_value is False:
                message = "unknown field(s): " + ", ".join(sorted(set(error.instance) - set(error.schema.get(
                    "properties", {})) - _pattern_matches(error.schema, error.instance)))
            found.append(f"{where}: {message}")
        return found + list_map_errors(self.structural, document) + cel_errors(self.structural, document)


def _pattern_matches(schema: dict[str, Any], instance: dict[str, Any]) -> set[str]:
    return {k for k in instance for p in schema.get("patternProperties", {}) if re.search(p, k)}


class HandWrittenValidator:
    """A kind from k3s/schemas/crds.schema.yaml (JSON Schema, strict by construction)."""

    def __init__(self, key: str, schema: dict[str, Any], definitions: dict[str, Any]) -> None:
        properties = dict(schema.get("properties", {}))
        metadata = properties.pop("metadata", None)
        full = {
            "$defs": definitions, "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"allOf": [{"$ref": "#/$defs/metadata"}, metadata]} if metadata
                           else {"$ref": "#/$defs/metadata"}, **properties},
            "additionalProperties": False,
        }
        self.key, self.schema = key, full
        self.validator = Draft202012Validator(full)

    def errors(self, document: dict[str, Any]) -> list[str]:
        found = []
        for error in self.validator.iter_errors(document):
            message = error.message
            if error.validator == "additionalProperties" and error.validator_value is False:
                message = "unknown field(s): " + ", ".join(sorted(set(error.instance) - set(error.schema.get(
                    "properties", {}))))
            found.append(f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {message}")
        return found


def hand_written() -> dict[str, HandWrittenValidator]:
    import yaml

    vendored = yaml.safe_load((SCHEMAS / "crds.schema.yaml").read_text())
    return {key: HandWrittenValidator(key, schema, vendored["$defs"]) for key, schema in vendored["kinds"].items()}


@cache
def validators() -> dict[str, CrdValidator | HandWrittenValidator]:
    """By "<apiVersion>/<kind>": the upstream CRD schema where one is vendored in
    k3s/schemas/<group>/ (sources.json), else the hand-written one of crds.schema.yaml."""
    found: dict[str, CrdValidator | HandWrittenValidator] = dict(hand_written())
    for entry in index():
        structural = json.loads((SCHEMAS / entry["file"]).read_text())
        found[f"{entry['apiVersion']}/{entry['kind']}"] = CrdValidator(entry["apiVersion"], entry["kind"], structural)
    return found


def upstream_kinds() -> set[str]:
    return {f"{entry['apiVersion']}/{entry['kind']}" for entry in index()}
