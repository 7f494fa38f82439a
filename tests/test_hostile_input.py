"""Hostile input, for every schema and every workflow (both discovered, never listed):

- instances generated from each schema (hypothesis-jsonschema) are accepted;
- mutated instances (missing, wrong-typed and extra fields, huge, unicode and injection-looking
  strings) and arbitrary JSON are accepted exactly when JSON Schema says they are valid, and
  otherwise rejected with InvalidInput naming a field: never another exception;
- every state machine started with hostile input ends (never stuck) in its named rejection,
  audited, with nothing created.
"""
import json

import pytest
from conftest import audit_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from genai_hub import schemas
from genai_hub.errors import InvalidInput

EVENT_SCHEMAS = schemas.event_detail_types()
DOCUMENT_SCHEMAS = sorted(p.stem for p in schemas.HERE.glob("*.json"))
HOSTILE_STRINGS = ["", " ", "\u0000", "💥" * 100, "a" * 1_000_000, "'; DROP TABLE tenants; --", "<script>alert(1)</script>",
                   "${jndi:ldap://evil/x}", "../../etc/passwd", "$(rm -rf /)", "\u202eevil", "%s%s%n", "null", "0"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False) | st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=20,
)
FIGURES = {"inputs": 0}


def _schema(name: str) -> dict:
    path = schemas.event_schema_path(name) if name in EVENT_SCHEMAS else schemas.document_schema_path(name)
    return json.loads(path.read_text())


def _validate(name: str, instance):
    if name in EVENT_SCHEMAS:
        return schemas.validate_detail(name, instance)
    return schemas.validate_document(name, instance)


def _check(name: str, instance) -> None:
    """Accepted exactly when JSON Schema says valid; otherwise a named InvalidInput, nothing else."""
    FIGURES["inputs"] += 1
    valid = Draft202012Validator(_schema(name)).is_valid(instance)
    try:
        _validate(name, instance)
    except InvalidInput as error:
        assert not valid, f"{name}: a valid instance was rejected: {error}"
        assert str(error).startswith("$") or "$" in str(error), f"{name}: the rejection names no field: {error}"
        return
    assert valid, f"{name}: an invalid instance was accepted"


def _mutations(instance):
    """Each way a caller can get a document wrong, applied to a valid one."""
    yield "not an object", [instance]
    if isinstance(instance, dict):
        for key in list(instance):
            yield f"without {key}", {k: v for k, v in instance.items() if k != key}
            for value in (None, 42, [], {}, True, "x" * 100_000, HOSTILE_STRINGS[5], HOSTILE_STRINGS[3]):
                yield f"{key}={value!r:.20}", {**instance, key: value}
        yield "extra field", {**instance, "unexpected_field": "surprise"}
        yield "unicode keys", {**instance, "\u202e\u0000": 1}


@pytest.mark.parametrize("name", EVENT_SCHEMAS + DOCUMENT_SCHEMAS)
def test_generated_valid_instances_are_accepted_and_every_mutation_is_accepted_or_named(name, record_property):
    schema = _schema(name)
    tried = {"valid": 0, "mutated": 0}

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(schema))
    def check(instance):
        tried["valid"] += 1
        _validate(name, instance)  # raises if a valid instance is refused
        for _, mutated in _mutations(instance):
            tried["mutated"] += 1
            _check(name, mutated)

    check()
    record_property("figures", f"{name}: {tried['valid']} generated valid instances accepted, {tried['mutated']} mutations checked")


@pytest.mark.parametrize("name", EVENT_SCHEMAS + DOCUMENT_SCHEMAS)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(instance=JSON)
def test_arbitrary_json_is_accepted_only_when_valid_and_otherwise_named(name, instance):
    _check(name, instance)


# --- through the workflows --------------------------------------------------------------------

def _state_machines(hub) -> dict[str, str]:
    """Every state machine of the stack, by the name it was given (`genai-hub-<workflow>`)."""
    sfn = hub.client("stepfunctions")
    return {m["name"].removeprefix("genai-hub-"): m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}


HOSTILE_STARTS = [[], "just a string", 42, None, {}, {"detail": "x" * 200_000}, {"detail-type": "<script>", "detail": {"\u0000": None}},
                  {"detail": {"tenant_id": "'; DROP TABLE --", "model": "../../x", "requested_by": "💥"}}]


def test_every_workflow_started_with_hostile_input_ends_in_a_named_rejection_and_audits_it(hub, record_property):
    sfn = hub.client("stepfunctions")
    machines = _state_machines(hub)
    assert len(machines) >= 5
    started = {}
    for workflow, arn in machines.items():
        for number, body in enumerate(HOSTILE_STARTS):
            started[(workflow, number)] = sfn.start_execution(stateMachineArn=arn, input=json.dumps(body))["executionArn"]
    hub.wait_for_executions(timeout=180)
    outcomes = {key: sfn.describe_execution(executionArn=arn) for key, arn in started.items()}
    stuck = [key for key, d in outcomes.items() if d["status"] == "RUNNING"]
    assert stuck == []
    unnamed = {key: (d["status"], d.get("error")) for key, d in outcomes.items() if d.get("error") != "InputRejected"}
    assert unnamed == {}, "every hostile start must end in InputRejected"
    for workflow in machines:
        records = audit_records(hub, f"rejected#{_audit_workflow(workflow)}")
        assert len(records) >= 1, f"{workflow}: no rejection audited"
    # nothing was created: no tenant, no model version, no retirement, no usage
    registry = hub.client("dynamodb").scan(TableName=hub.outputs["RegistryTableName"])["Items"]
    assert registry == []
    record_property("figures", f"hostile starts: {len(started)} executions on {len(machines)} workflows, all InputRejected")


def _audit_workflow(machine_name: str) -> str:
    """The workflow name of the audit stream `rejected#<workflow>` of a state machine."""
    return {"onboarding": "tenant-onboarding", "retirement": "model-retirement"}.get(machine_name, machine_name)
