"""Input files and requests checked on this machine before anything is sent to the hub, against the
same schemas (genai_hub.schemas) and checks the workflows apply: a mistake is told at once, every
mistake of the file at once, each with its field, and the hub never sees an event it would reject."""
import json
from pathlib import Path

from hubctl.errors import UsageError

ONBOARDING = "TenantOnboardingRequested"


def read_event_file(path: str, default_type: str = ONBOARDING) -> tuple[str, dict]:
    """(detail-type, detail) of a file holding an event detail, or an events/ sample
    ({"detail-type", "detail", ...}); UsageError names the file and what is wrong with it."""
    file = Path(path)
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file: give a JSON file with the event detail, e.g. "
                         "events/onboarding/acme-retail-us.json") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory: give a JSON file with the event detail") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc}): fix the file; nothing was sent") from None
    if isinstance(data, dict) and "detail" in data:
        detail_type, detail, where = data.get("detail-type", default_type), data["detail"], f"{path}: $.detail"
    else:
        detail_type, detail, where = default_type, data, f"{path}"
    if not isinstance(detail, dict):
        raise UsageError(f"{where} is a JSON {_json_type(detail)}, not an object: the file holds one event detail "
                         "{...} (or an events/ sample with one); nothing was sent")
    if not isinstance(detail_type, str):
        raise UsageError(f"{path}: $.detail-type is a JSON {_json_type(detail_type)}: expected a name such as {default_type}")
    return detail_type, detail


def _json_type(value) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}.get(type(value), "object")


def problems(detail_type: str, detail) -> list[str]:
    """Every way `detail` breaks its event schema, each "$.field: what is wrong", in document order.
    The hub (genai_hub.schemas.validate_detail) stops at the first; a person fixing a file wants all."""
    from jsonschema.exceptions import best_match

    from genai_hub import schemas
    from genai_hub.errors import InvalidInput

    try:
        validator = schemas._validator(detail_type)
    except InvalidInput as exc:
        return [f"$.detail-type: {exc}: one of {', '.join(schemas.event_detail_types())}"]
    found = []
    for error in validator.iter_errors(detail):
        # best_match descends into oneOf/anyOf to the error that says most, as the hub's message does.
        found.append(_message(best_match([error])))
    return sorted(set(found), key=lambda m: (m.split(":", 1)[0], m))


def _message(error) -> str:
    """The hub's wording of one schema error (genai_hub.schemas._validate), so a local check and the
    audit trail say the same."""
    from genai_hub.schemas import _expectation, _field_path

    field = _field_path(error)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{field}.{missing}: required field is missing" if field != "$" else f"$.{missing}: required field is missing"
    if error.validator == "additionalProperties":
        return f"{field}: {error.message}"
    return f"{field}: {json.dumps(error.instance)[:80]} is not valid: expected {_expectation(error)}"


def check_event(detail_type: str, detail: dict, source: str) -> dict:
    """The detail if the hub would accept it; else UsageError with one line per problem, each naming
    `source` and the field. Beyond the schema, an onboarding gets the onboarding workflow's own checks."""
    found = problems(detail_type, detail)
    if len(found) == 1:
        raise UsageError(f"{source}: {found[0]}; nothing was sent")
    if found:
        raise UsageError(f"{source}: {found[0]}", problems=[f"{source}: {p}" for p in found]
                         + [f"{source}: {len(found)} problems with {detail_type}; nothing was sent"])
    if detail_type == ONBOARDING:
        from genai_hub import onboarding
        from genai_hub.errors import InvalidInput

        try:
            onboarding.validate_request({"detail-type": detail_type, "detail": detail})
        except InvalidInput as exc:
            raise UsageError(f"{source}: {exc}; nothing was sent") from None
    return detail


def check_request(detail_type: str, request: dict, flag_of_field: dict[str, str]) -> dict:
    """A request built from flags, checked against its schema: UsageError names the flag of each bad field."""
    found = problems(detail_type, request)
    if not found:
        return request

    def with_flag(problem: str) -> str:
        field = problem.split(":", 1)[0]
        flag = next((f for path, f in flag_of_field.items() if field == path or field.startswith((path + "[", path + "."))), None)
        return f"{flag} ({problem})" if flag else problem

    lines = [with_flag(p) for p in found]
    raise UsageError(lines[0], problems=lines)
