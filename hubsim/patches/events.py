"""EventBridge: rules deliver to state machines (and to their DLQ when delivery fails).

Replaces `moto.events.models.Rule.send_to_targets`, which delivers only to logs, archives, SQS,
buses and API destinations and raises `NotImplementedError: Expr not defined` for a state
machine target, skipping the rule's other targets too. The replacement starts an execution for
each `states` target with the event as input, with the event `time` as ISO-8601 (moto keeps a
unix float) and without moto's extra `ingestion-time`, and hands every other target to moto.
A start that fails goes to the target's DeadLetterConfig queue, as EventBridge does after retries.

Also: `Ref` of an `AWS::Events::EventBus` in moto CloudFormation yields the EventBus object
(the class has no `physical_resource_id`), so a rule on a custom bus fails with
"'EventBus' object has no attribute 'split'". CloudFormation's Ref is the bus name: added.
"""
import copy
import json
from datetime import datetime, timezone

from moto.events import models as events_models
from moto.sqs.models import sqs_backends
from moto.stepfunctions.responses import get_backend
from moto.utilities.arns import parse_arn

from hubsim.patches import Patch

PATCH = Patch(
    name="eventbridge-to-stepfunctions",
    replaces=(
        "moto.events.models.Rule.send_to_targets (no state machine targets: NotImplementedError); "
        "moto.events.models.EventBus has no physical_resource_id (Ref yields the object, not the name)"
    ),
    covered_by="tests/test_engine_seams.py::test_event_rule_starts_state_machine_with_iso_time",
)

_original = events_models.Rule.send_to_targets
delivered: list[dict] = []  # (rule, target, execution) of every delivery, for the engine's report
undelivered: list[dict] = []  # (rule, target, error) of every failed delivery


def _iso(value) -> str:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _aws_shaped(event: dict) -> dict:
    shaped = {k: v for k, v in event.items() if k != "ingestion-time"}
    if "time" in shaped:
        shaped["time"] = _iso(shaped["time"])
    return shaped


def _dead_letter(rule: str, target: dict, event: dict, error: Exception) -> None:
    """EventBridge keeps PutEvents successful whatever happens to a target: the event goes to the
    target's DLQ when it has one, and is otherwise dropped (recorded here for the engine's report)."""
    undelivered.append({"rule": rule, "target": target["Arn"], "error": f"{type(error).__name__}: {error}"})
    dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not dlq_arn:
        return
    arn = parse_arn(dlq_arn)
    sqs_backends[arn.account][arn.region].send_message(
        arn.resource_id,
        json.dumps(event),
        message_attributes={
            "ERROR_CODE": {"DataType": "String", "StringValue": type(error).__name__},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": str(error)[:256]},
        },
    )


def send_to_targets(self, original_event, transform_input=True):
    if not self.event_pattern.matches_event(original_event):
        return
    others = []
    for target in self.targets:
        arn = parse_arn(target["Arn"])
        if arn.service != "states":
            others.append(target)
            continue
        event = _aws_shaped(original_event)
        if target.get("Input"):
            payload = target["Input"]
        elif target.get("InputPath"):
            payload = json.dumps(_json_path(event, target["InputPath"]))
        else:
            payload = json.dumps(event)
        try:
            execution = get_backend(arn.account, arn.region).start_execution(target["Arn"], execution_input=payload)
            delivered.append({"rule": self.name, "target": target["Arn"], "execution": execution.execution_arn})
        except Exception as error:
            _dead_letter(self.name, target, event, error)
    if others:
        rest = copy.copy(self)
        rest.targets = others
        _original(rest, original_event, transform_input)  # moto's own targets use its own shape


def _json_path(event: dict, path: str):
    value = event
    for part in [p for p in path.lstrip("$").split(".") if p]:
        value = value[part]
    return value


def apply() -> None:
    events_models.Rule.send_to_targets = send_to_targets
    events_models.EventBus.physical_resource_id = property(lambda bus: bus.name)
