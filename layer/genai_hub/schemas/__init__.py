"""JSON Schemas of the hub's events and inputs, loaded by handlers and tests alike.

jsonschema is imported on the first validation, not with this module: most steps of a workflow
import their workflow module (which imports this one) but never validate, and jsonschema is ~80 ms
of their cold start.
"""
from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

from genai_hub.errors import InvalidInput

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

HERE = Path(__file__).parent


def event_schema_path(detail_type: str) -> Path:
    return HERE / "events" / f"{detail_type}.json"


def event_detail_types() -> list[str]:
    return sorted(p.stem for p in (HERE / "events").glob("*.json"))


def document_schema_path(name: str) -> Path:
    """Schemas of documents that are not events, e.g. import-manifest."""
    return HERE / f"{name}.json"


@functools.lru_cache(maxsize=None)
def _load(path: Path) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _validator(detail_type: str) -> Draft202012Validator:
    path = event_schema_path(detail_type)
    if not path.exists():
        raise InvalidInput(f"unknown detail-type {detail_type!r}: no schema {path.name}", field="detail-type")
    return _load(path)


def _field_path(error) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate_detail(detail_type: str, detail) -> dict:
    """Return `detail` with schema defaults applied, or raise InvalidInput naming the first bad field."""
    return _validate(_validator(detail_type), detail)


def validate_document(name: str, document, source: str = "") -> dict:
    """Like validate_detail for a document schema; `source` (a file name) prefixes the message."""
    try:
        return _validate(_load(document_schema_path(name)), document)
    except InvalidInput as error:
        if not source:
            raise
        raise InvalidInput(f"{source}: {error}", field=error.field) from None


def _validate(validator: Draft202012Validator, detail) -> dict:
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(detail))
    if error is not None:
        field = _field_path(error)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            field = f"{field}.{missing}" if field != "$" else f"$.{missing}"
            message = f"{field}: required field is missing"
        elif error.validator == "additionalProperties":
            message = f"{field}: {error.message}"
        else:
            shown = json.dumps(error.instance)[:80]
            message = f"{field}: {shown} is not valid: expected {_expectation(error)}"
        raise InvalidInput(message, field=field)
    return _with_defaults(validator.schema, copy.deepcopy(detail))


def _expectation(error) -> str:
    schema = error.schema
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if "pattern" in schema:
        return f"a string matching {schema['pattern']}" + (f" ({schema['description']})" if "description" in schema else "")
    if error.validator in ("type",):
        return f"type {schema['type']}"
    return error.message


def _with_defaults(schema: dict, instance):
    """Fill in `default` values of object properties (jsonschema validates but never fills defaults)."""
    if isinstance(instance, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in instance and "default" in sub:
                instance[name] = copy.deepcopy(sub["default"])
            if name in instance:
                instance[name] = _with_defaults(sub, instance[name])
    return instance
