"""Answer schemas that say what is always sent.

FastAPI serialises every field of a response model, `null` included, but the generated schema
lists a field with a default as optional: a typed client then has to handle a field that is
never missing (`pain?: number | null`). `require_what_is_sent` marks every property of an
answer schema required. A schema that requests use too (the diary's `Knee`, `Knees`,
`Analgesics`, a session's `ExerciseItem`: optional when sent) gets an answer copy named
`…Read`, and answer schemas point at it. The few members an answer really leaves out are
listed in `SOMETIMES_LEFT_OUT`. tests/declared.py validates every JSON answer the suite
receives against its declared schema, so a member marked required that an answer leaves out
fails the suite."""

from __future__ import annotations

import copy
from typing import Any

REF = "#/components/schemas/"
# schema -> members an answer may leave out, and why.
SOMETIMES_LEFT_OUT: dict[str, frozenset[str]] = {
    # A problem's error item names its `type` only where a validator gave one.
    "ErrorItem": frozenset({"type"}),
    # `errors` is only in a validation problem (422), naming each field.
    "Problem": frozenset({"errors"}),
    "TokenError": frozenset({"errors"}),
    # A sync result carries `errors` when the item was `invalid`, its `etag` otherwise.
    "SyncResult": frozenset({"errors", "etag"}),
    # Only a transaction bundle's entries carry a `request` (a collection's do not).
    "FhirBundleEntry": frozenset({"request"}),
}


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            found.add(ref.removeprefix(REF))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def _closure(names: set[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    return seen


def _rewrite(node: Any, renames: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.removeprefix(REF) in renames:
            node["$ref"] = REF + renames[ref.removeprefix(REF)]
        for value in node.values():
            _rewrite(value, renames)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item, renames)


def require_what_is_sent(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    requests: set[str] = set()
    answers: set[str] = set()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            requests |= _refs(operation.get("requestBody"))
            requests |= _refs(operation.get("parameters"))
            answers |= _refs(operation.get("responses"))
    requests = _closure(requests, schemas)
    answers = _closure(answers, schemas)
    shared = sorted(answers & requests)
    renames = {name: f"{name}Read" for name in shared}
    for name in shared:
        schemas[renames[name]] = {**copy.deepcopy(schemas[name]), "title": renames[name]}
    for name in sorted(answers - requests) + list(renames.values()):
        schema = schemas[name]
        _rewrite(schema, renames)
        properties = schema.get("properties")
        if not properties or schema.get("type") != "object":
            continue
        left_out = SOMETIMES_LEFT_OUT.get(name.removesuffix("Read"), frozenset())
        schema["required"] = [p for p in properties if p not in left_out]
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            _rewrite(operation.get("responses"), renames)
