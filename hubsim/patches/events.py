"""EventBridge: rules deliver to state machines (and to their DLQ when delivery fails).

Replaces `moto.events.models.Rule.send_to_targets`, which delivers only to logs, archives, SQS,
buses and API destinations and raises `NotImplementedError: Expr not defined` for a state
machine target, skipping the rule's other targets too. The replacement starts an execution for
each `states` target with the event as input, with the event `time` as ISO-8601 (moto keeps a
unix float) and without moto's extra `ingestion-time`, and hands every other target to moto.
A start that fails goes to the target's DeadLetterConfig queue, as EventBridge does after retries.
EventBridge starts the execution as the target's `RoleArn`, which it assumes as the service
events.amazonaws.com with the rule as aws:SourceArn and its account as aws:SourceAccount; the role
must allow states:StartExecution on the machine
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html#eb-target-permissions,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html): a target without a role,
a role whose trust policy does not name the rule, or one without the permission is a failed
delivery (its DLQ), decided by hubsim.patches.authz like every other call.

Also: moto CloudFormation has no model for `AWS::Events::EventBusPolicy` ("No Moto CloudFormation
support": skipped, the bus keeps no policy, so another account may put nothing on it once the bus's
policy is enforced). `EventBusPolicy` adds the statement (`StatementId`, `Statement`) to the bus
as PutPermission with a policy does, and removes it on delete
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-eventbuspolicy.html).

And: `Ref` of an `AWS::Events::EventBus` in moto CloudFormation yields the EventBus object
(the class has no `physical_resource_id`), so a rule on a custom bus fails with
"'EventBus' object has no attribute 'split'". CloudFormation's Ref is the bus name: added.
"""
import copy
import json
from datetime import datetime, timezone

from moto.cloudformation import parsing as cfn_parsing
from moto.core.common_models import CloudFormationModel
from moto.events import models as events_models
from moto.sqs.models import sqs_backends
from moto.stepfunctions.responses import get_backend
from moto.utilities.arns import parse_arn

from hubsim.patches import Patch

PATCH = Patch(
    name="eventbridge-to-stepfunctions",
    replaces=(
        "moto.events.models.Rule.send_to_targets (no state machine targets: NotImplementedError); "
        "moto.events.models.EventBus has no physical_resource_id (Ref yields the object, not the name); "
        "AWS::Events::EventBusPolicy in moto.cloudformation.parsing (no model: the bus keeps no policy)"
    ),
    covered_by="tests/seams/test_events.py::test_event_rule_starts_state_machine_with_iso_time",
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
            authorise_target(self, target, "states:StartExecution", arn.region)
            execution = get_backend(arn.account, arn.region).start_execution(target["Arn"], execution_input=payload)
            delivered.append({"rule": self.name, "target": target["Arn"], "execution": execution.execution_arn})
        except Exception as error:
            _dead_letter(self.name, target, event, error)
    if others:
        rest = copy.copy(self)
        rest.targets = others
        _original(rest, original_event, transform_input)  # moto's own targets use its own shape


class TargetAccessDenied(Exception):
    """EventBridge could not start the target as its role (its DLQ gets ERROR_CODE TargetAccessDenied)."""


def authorise_target(rule, target: dict, action: str, region: str) -> None:
    """EventBridge acts on a target as the target's role (assumed as events.amazonaws.com, the rule as
    aws:SourceArn): `action` on the target must be allowed, by the role's policies and, across
    accounts, by the target's resource policy (an event bus's). TargetAccessDenied otherwise."""
    from hubsim import principals
    from hubsim.patches import authz
    from hubsim.patches import sts as sts_patch

    role_arn = target.get("RoleArn")
    if not role_arn:
        raise TargetAccessDenied(f"target {target.get('Id')} of rule {rule.name} has no RoleArn: EventBridge needs one for {action}")
    cached = getattr(rule, "hubsim_target_sessions", {}).get(role_arn)
    if cached is None:
        try:
            credentials = sts_patch.assume_role_as_service("events.amazonaws.com", role_arn, f"events-{rule.name}"[:64], region,
                                                           {"aws:SourceArn": rule.arn, "aws:SourceAccount": rule.account_id})
        except sts_patch.AccessDenied as error:
            raise TargetAccessDenied(error.reason) from None
        cached = principals.session_of(credentials["AccessKeyId"])
        rule.hubsim_target_sessions = {**getattr(rule, "hubsim_target_sessions", {}), role_arn: cached}
    decision = authz.decide(principals.of_session(cached), action.split(":")[0], action, target["Arn"], region)
    if not decision.allowed and authz.mode() == "enforce":
        raise TargetAccessDenied(decision.message())


class EventBusPolicy(CloudFormationModel):
    """AWS::Events::EventBusPolicy: one statement of a bus's resource policy."""

    def __init__(self, account_id: str, region_name: str, bus_name: str, sid: str):
        self.account_id, self.region_name, self.bus_name, self.sid = account_id, region_name, bus_name, sid

    @property
    def physical_resource_id(self) -> str:
        return self.sid

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Events::EventBusPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    def _bus(self):
        return events_models.events_backends[self.account_id][self.region_name].describe_event_bus(self.bus_name)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        policy = cls(account_id, region_name, properties.get("EventBusName") or "default", properties["StatementId"])
        statement = properties.get("Statement")
        if statement is None:  # the legacy form: Action, Principal (an account id or *), Condition
            principal = properties["Principal"]
            statement = {"Effect": "Allow", "Action": properties["Action"],
                         "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
                         "Resource": policy._bus().arn}
        policy._bus().add_policy({"Version": "2012-10-17", "Statement": [{**statement, "Sid": policy.sid}]})
        return policy

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        cls(account_id, region_name, properties.get("EventBusName") or "default", properties["StatementId"]).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            self._bus().remove_statement(self.sid)
        except Exception:  # the bus went first: its policy went with it
            pass

    def is_created(self) -> bool:
        return True


def _json_path(event: dict, path: str):
    value = event
    for part in [p for p in path.lstrip("$").split(".") if p]:
        value = value[part]
    return value


def apply() -> None:
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()  # moto finds models through lru-cached CloudFormationModel.__subclasses__()
    if EventBusPolicy.cloudformation_type() not in cfn_parsing.get_model_map():
        raise RuntimeError("moto CloudFormation does not see the hubsim model for AWS::Events::EventBusPolicy")
    events_models.Rule.send_to_targets = send_to_targets
    events_models.EventBus.physical_resource_id = property(lambda bus: bus.name)
