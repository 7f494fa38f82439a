"""The hub's human decisions, taken through one door that AWS authenticates.

Approving or rejecting a model version and cancelling a retirement answer a workflow waiting on a
task token. Whoever can call `states:SendTaskSuccess` can answer it, and those actions have no
resource type (Service Authorization Reference, Step Functions:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html), so
the hub gives them to one role only: the decision function's (functions/decide), a Lambda function
URL with AuthType AWS_IAM. Lambda verifies the SigV4 signature before the function runs and hands it
the caller as `requestContext.authorizer.iam` (userArn, userId, accountId:
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html). Nothing a caller types is its
identity; a name it gives is recorded as a claim beside the verified ARN.

The decision policy (data/decision_policy.json, schema schemas/decision-policy.json) says who may
take each decision: role or user ARNs, or IAM tags of the caller's role or user (read with
iam:GetRole / iam:GetUser: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html),
per model, per evaluation policy or hub-wide. Four-eyes: the person who uploaded a version's
import.json (S3 verified the uploader: genai_hub.model_import records `submitter`) may not decide on
it. A person is a role session's name (IAM Identity Center sets it to the user name) or an IAM user;
docs/approver.md says how to keep session names honest elsewhere (sts:RoleSessionName conditions).
Every decision and every refusal is audited with the verified ARN and the rule that applied.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from genai_hub import audit, aws, config, registry, schemas
from genai_hub.errors import HubError, InvalidInput

WORKFLOW = "decisions"
ACTIONS = ("approve", "reject", "cancel-retirement", "confirm-retirement", "retire", "offboard")
# The requests the door starts as events: action -> the event's detail-type.
STARTS = {"retire": "ModelRetirementRequested", "offboard": "TenantOffboardingRequested"}
_POLICY = Path(__file__).parent / "data" / "decision_policy.json"
_EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class DecisionRefused(HubError):
    """The decision policy does not let this caller take this decision; `rule` names what refused."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule


class NothingToDecide(HubError):
    """No workflow is waiting for this decision (none asked, or its wait is over)."""


class UnknownSubject(HubError):
    """The model version or retirement named does not exist."""


@dataclass(frozen=True)
class Caller:
    """The caller as Lambda verified it, and the IAM principal behind it."""
    arn: str                 # userArn: arn:aws:sts::A:assumed-role/R/session, arn:aws:iam::A:user/U, ...:root
    user_id: str             # AROA...:session, AIDA..., or the account id for root
    account: str
    principal_arn: str = ""  # the role or user ARN with its path, as aws:PrincipalArn names it
    kind: str = "unknown"    # role-session | user | root | unknown
    tags: dict = field(default_factory=dict)

    @property
    def person(self) -> str:
        """Who this is, for four-eyes: as the submitter's person is taken (person_of)."""
        return person_of(self.user_id)

    def as_record(self) -> dict:
        return {"arn": self.arn, "principal_arn": self.principal_arn, "user_id": self.user_id, "account": self.account}


def person_of(user_id: str) -> str:
    """The person of an aws:userid value: the session name after ':' for a role session, else the id."""
    return user_id.split(":", 1)[1] if ":" in user_id else user_id


def caller_of(iam_context: dict, hub_account: str) -> Caller:
    """The verified caller, with its role's or user's ARN and tags. Principals of other accounts are
    refused: the function URL's resource policy admits only the hub account, this says why."""
    arn, user_id, account = (str(iam_context.get(k) or "") for k in ("userArn", "userId", "accountId"))
    if not arn:
        raise DecisionRefused("authenticated", "the request carries no verified identity: sign it with SigV4 (service lambda)")
    if account != hub_account:
        raise DecisionRefused("hub-account", f"{arn} is not a principal of the hub account {hub_account}: "
                                             "decisions are taken by the hub's own roles and users")
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    iam = aws.client("iam")
    if resource == "root":
        return Caller(arn, user_id, account, arn, "root")
    if resource.startswith("assumed-role/"):
        role = iam.get_role(RoleName=resource.split("/")[1])["Role"]
        return Caller(arn, user_id, account, role["Arn"], "role-session", _tags(role.get("Tags")))
    if resource.startswith("user/"):
        user = iam.get_user(UserName=resource.rsplit("/", 1)[1])["User"]
        return Caller(arn, user_id, account, user["Arn"], "user", _tags(user.get("Tags")))
    return Caller(arn, user_id, account)


def _tags(tags) -> dict:
    return {t["Key"]: t["Value"] for t in tags or []}


@lru_cache(maxsize=1)
def policy() -> dict:
    return schemas.validate_document("decision-policy", json.loads(_POLICY.read_text()), source=_POLICY.name)


def rule_for(action: str, model_name: str | None = None, evaluation_policy: str | None = None) -> tuple[dict, str]:
    """(rule, where it comes from): the model's own, its evaluation policy's, else the hub-wide one."""
    document = policy()
    if model_name and action in document.get("models", {}).get(model_name, {}):
        return document["models"][model_name][action], f"models.{model_name}.{action}"
    if evaluation_policy and action in document.get("evaluation_policies", {}).get(evaluation_policy, {}):
        return document["evaluation_policies"][evaluation_policy][action], f"evaluation_policies.{evaluation_policy}.{action}"
    return document["decisions"][action], f"decisions.{action}"


def _matches(rule: dict, caller: Caller) -> bool:
    patterns = [p.replace("{account}", caller.account) for p in rule.get("principals", [])]
    if caller.principal_arn and any(fnmatch.fnmatchcase(caller.principal_arn, p) for p in patterns):
        return True
    wanted = rule.get("principal_tags") or {}
    return bool(wanted) and all(caller.tags.get(k) == v for k, v in wanted.items())


def check(action: str, caller: Caller, *, model_name: str | None = None, evaluation_policy: str | None = None,
          submitter: dict | None = None) -> str:
    """The rule that allows `caller` to take `action`, or DecisionRefused naming the one that does not."""
    if caller.kind == "root":
        raise DecisionRefused("no-root", f"{caller.arn} is the account's root user: decisions are taken by named roles or "
                                         "users, so the trail says which person decided")
    rule, where = rule_for(action, model_name, evaluation_policy)
    if not _matches(rule, caller):
        raise DecisionRefused(where, f"{caller.principal_arn or caller.arn} may not {action}: the decision policy's {where} "
                                     f"allows {_describe(rule)}")
    if action in ("approve", "reject"):
        four_eyes = policy()["four_eyes"]
        if four_eyes["submitter_cannot_approve"]:
            if not submitter:
                if four_eyes.get("unverified_submitter", "refuse") == "refuse":
                    raise DecisionRefused("four_eyes.unverified_submitter",
                                          "S3 did not verify who submitted this version (its import.json has no "
                                          "genai-hub-submitted-by tag): re-submit it from a research spoke of this version "
                                          "of spokes/research.yaml")
            elif person_of(str(submitter.get("user_id", ""))) == caller.person:
                raise DecisionRefused("four_eyes.submitter_cannot_approve",
                                      f"{caller.arn} submitted this version (as {submitter.get('user_id')} in account "
                                      f"{submitter.get('account')}): a second person must {action} it")
    return where


def _describe(rule: dict) -> str:
    parts = [" or ".join(rule.get("principals", []))] if rule.get("principals") else []
    if rule.get("principal_tags"):
        parts.append("principals tagged " + ", ".join(f"{k}={v}" for k, v in rule["principal_tags"].items()))
    return " or ".join(parts)


# --- the decisions -----------------------------------------------------------------------------

def _required(request: dict, name: str, limit: int = 256) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"$.{name}: expected a non-empty string of at most {limit} characters", field=f"$.{name}")
    return value


def _claimed_name(request: dict) -> str | None:
    name = request.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 256):
        raise InvalidInput("$.name: expected a string of at most 256 characters (who you are, as a claim)", field="$.name")
    return name


def _audit(stream: str, caller: Caller, request_id: str, action: str, outcome: str, **detail) -> None:
    audit.append(stream, action=action, outcome=outcome, workflow=WORKFLOW, execution=request_id, actor=caller.arn[:256],
                 detail={"principal": caller.as_record(), **detail})


def decide(action: str, request: dict, caller: Caller, request_id: str) -> dict:
    """Take one decision for `caller`; refusals are audited and raised."""
    if action in ("approve", "reject"):
        return _decide_version(action, request, caller, request_id)
    if action == "cancel-retirement":
        return _cancel_retirement(request, caller, request_id)
    if action == "confirm-retirement":
        return _confirm_retirement(request, caller, request_id)
    if action in STARTS:
        return _start(action, request, caller, request_id)
    raise InvalidInput(f"$.action: expected one of {', '.join(ACTIONS)}, got {action!r}", field="$.action")


def _refused(stream: str, caller: Caller, request_id: str, action: str, refused: DecisionRefused, **detail) -> DecisionRefused:
    _audit(stream, caller, request_id, "RefuseDecision", "REFUSED", decision=action, rule=refused.rule, reason=str(refused), **detail)
    refused.audited = True
    return refused


def record_unanswered(iam_context: dict, request_id: str, request, error: HubError) -> None:
    """Audit a request the door turned away before any subject's stream was known (bad request,
    unknown subject, nothing waiting, a caller of another account) in `rejected#decisions`."""
    if getattr(error, "audited", False):
        return
    detail = {"error": type(error).__name__, "reason": str(error)[:1000], "user_id": str(iam_context.get("userId", ""))[:256]}
    if isinstance(request, dict):
        detail["request"] = {k: str(request[k])[:300] for k in ("action", "model", "version", "model_id", "retirement_id") if k in request}
    audit.append(f"rejected#{WORKFLOW}", action="RefuseDecision", outcome="REJECTED", workflow=WORKFLOW, execution=request_id,
                 actor=str(iam_context.get("userArn") or "unknown")[:256], detail=detail)


def _decide_version(action: str, request: dict, caller: Caller, request_id: str) -> dict:
    from genai_hub import evaluation

    model_name, version = _required(request, "model"), _required(request, "version", 64)
    reason = _required(request, "reason", 1000) if action == "reject" else None
    claimed = _claimed_name(request)
    found = registry.get_item(registry.version_key(model_name, version))
    if not found:
        raise UnknownSubject(f"no version {version!r} of model {model_name!r}: see `hubctl models list`")
    stream, subject = audit.model_stream(model_name), {"model_id": f"{model_name}:{version}", "claimed_name": claimed}
    waiting = registry.get_item(evaluation.approval_key(model_name, version))
    if not waiting:
        raise NothingToDecide(f"{model_name} {version} is {found.get('status')}, not waiting for a decision "
                              "(only AWAITING_APPROVAL is)")
    evaluation_policy = (found.get("evaluation") or {}).get("policy")
    try:
        rule = check(action, caller, model_name=model_name, evaluation_policy=evaluation_policy, submitter=found.get("submitter"))
    except DecisionRefused as refused:
        raise _refused(stream, caller, request_id, action, refused, **subject) from None
    answer = {"approver": caller.arn, "approver_name": claimed, "principal_arn": caller.principal_arn, "rule": rule}
    # Audited before the workflow hears of it: the trail shows the decision, then what it caused.
    _audit(stream, caller, request_id, "Decide", "APPROVED" if action == "approve" else "REJECTED",
           decision=action, rule=rule, **subject, **({"reason": reason} if reason else {}))
    sfn = aws.client("stepfunctions")
    _deliver(stream, caller, request_id, f"{model_name} {version}", lambda: (
        sfn.send_task_success(taskToken=waiting["task_token"], output=json.dumps({"decision": "approve", **answer}))
        if action == "approve" else
        sfn.send_task_failure(taskToken=waiting["task_token"], error="ApprovalRejected", cause=json.dumps({**answer, "reason": reason}))))
    return {"decision": action, "model": model_name, "version": version, "acted_as": caller.arn, "rule": rule}


def _retirement_record(request: dict) -> tuple[str, str, dict]:
    from genai_hub import retirement

    model_id, retirement_id = _required(request, "model_id", 300), _required(request, "retirement_id", 64)
    record = registry.get_item(retirement.record_key(model_id, retirement_id))
    if not record or record.get("kind") != "retirement":
        raise UnknownSubject(f"retirement {retirement_id} of {model_id}: not found (see `hubctl retirements list`)")
    return model_id, retirement_id, record


def _cancel_retirement(request: dict, caller: Caller, request_id: str) -> dict:
    model_id, retirement_id, record = _retirement_record(request)
    reason, claimed = _required(request, "reason", 1000), _claimed_name(request)
    stream = audit.model_stream(record["model"])
    subject = {"model_id": model_id, "retirement_id": retirement_id, "claimed_name": claimed}
    if record.get("status") != "SCHEDULED" or not record.get("task_token"):
        raise NothingToDecide(f"retirement {retirement_id} of {model_id} is {record.get('status')}: only a SCHEDULED "
                              "retirement (before its date) can be cancelled")
    try:
        rule = check("cancel-retirement", caller, model_name=record["model"])
    except DecisionRefused as refused:
        raise _refused(stream, caller, request_id, "cancel-retirement", refused, **subject) from None
    _audit(stream, caller, request_id, "Decide", "CANCELLED", decision="cancel-retirement", rule=rule, reason=reason, **subject)
    _deliver(stream, caller, request_id, f"retirement {retirement_id} of {model_id}", lambda: aws.client("stepfunctions").send_task_failure(
        taskToken=record["task_token"], error="RetirementCancelled",
        cause=json.dumps({"cancelled_by": caller.arn, "cancelled_by_name": claimed, "reason": reason, "rule": rule})))
    return {"decision": "cancel-retirement", "model_id": model_id, "retirement_id": retirement_id,
            "acted_as": caller.arn, "rule": rule, "execution": record.get("execution")}


def needs_confirmation(scope) -> bool:
    """Does a retirement of this scope need a second person's confirmation before its date?"""
    return scope == "all" and bool(policy()["four_eyes"].get("retirement_all_needs_confirmation"))


def _confirm_retirement(request: dict, caller: Caller, request_id: str) -> dict:
    """A second person confirms a retirement of every tenant before its date (four-eyes, if the policy
    asks for it): without the confirmation the retirement is called off at its date."""
    from genai_hub import retirement

    model_id, retirement_id, record = _retirement_record(request)
    claimed = _claimed_name(request)
    stream = audit.model_stream(record["model"])
    subject = {"model_id": model_id, "retirement_id": retirement_id, "claimed_name": claimed}
    if record.get("status") not in ("PLANNED", "SCHEDULED"):
        raise NothingToDecide(f"retirement {retirement_id} of {model_id} is {record.get('status')}: only a retirement before "
                              "its date can be confirmed")
    if not needs_confirmation(record.get("scope")):
        raise NothingToDecide(f"retirement {retirement_id} of {model_id} needs no confirmation (the decision policy asks "
                              "for one only for scope all, with four_eyes.retirement_all_needs_confirmation)")
    try:
        rule = check("confirm-retirement", caller, model_name=record["model"])
        requester = record.get("requester") or {}
        if person_of(str(requester.get("user_id", ""))) == caller.person:
            raise DecisionRefused("four_eyes.retirement_all_needs_confirmation",
                                  f"{caller.arn} requested this retirement: a second person must confirm it")
    except DecisionRefused as refused:
        raise _refused(stream, caller, request_id, "confirm-retirement", refused, **subject) from None
    _audit(stream, caller, request_id, "Decide", "CONFIRMED", decision="confirm-retirement", rule=rule, **subject)
    registry.update_item(retirement.record_key(model_id, retirement_id),
                         {"confirmed_by": caller.arn, "confirmer": caller.as_record(), "confirmed_at": registry.now()})
    return {"decision": "confirm-retirement", "model_id": model_id, "retirement_id": retirement_id, "acted_as": caller.arn, "rule": rule}


def _detail_digest(detail: dict) -> str:
    body = {k: v for k, v in detail.items() if k != "decision_id"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def decision_key(decision_id: str) -> dict:
    return {"pk": f"DECISION#{decision_id}", "sk": "REQUEST"}


def _start(action: str, request: dict, caller: Caller, request_id: str) -> dict:
    """Start a workflow as `caller`: the request is checked against its event schema, `requested_by` is
    the verified ARN, and the registry keeps who asked under a decision id the event carries
    (`verified_requester` reads it back in the workflow: the event alone proves nothing)."""
    detail_type = STARTS[action]
    detail = request.get("request")
    if not isinstance(detail, dict):
        raise InvalidInput(f"$.request: expected the {detail_type} detail as an object", field="$.request")
    claimed = detail.get("requested_by") if isinstance(detail.get("requested_by"), str) else None
    detail = {**detail, "requested_by": caller.arn[:256]}
    detail.pop("decision_id", None)
    schemas.validate_detail(detail_type, json.loads(json.dumps(detail)))  # a copy: the event carries what was sent
    subject = {"claimed_name": claimed, **{k: detail[k] for k in ("tenant_id", "model", "version", "tenants") if k in detail}}
    stream = audit.tenant_stream(detail["tenant_id"]) if action == "offboard" else audit.model_stream(detail["model"])
    try:
        rule = check(action, caller, model_name=detail.get("model"))
    except DecisionRefused as refused:
        raise _refused(stream, caller, request_id, action, refused, **subject) from None
    decision_id = str(uuid.uuid4())
    registry.put_items([{**decision_key(decision_id), "kind": "decision", "action": action, "detail_type": detail_type,
                         "requester": caller.as_record(), "claimed_name": claimed, "detail_sha256": _detail_digest(detail),
                         "decided_at": registry.now(), "request_id": request_id}])
    _audit(stream, caller, request_id, "Decide", "REQUESTED", decision=action, rule=rule, decision_id=decision_id, **subject)
    detail["decision_id"] = decision_id
    taken = {"decision": action, "decision_id": decision_id, "acted_as": caller.arn, "rule": rule}
    if action == "retire":  # as `hubctl retire` always did: an execution it can follow by name
        name = request.get("execution_name") or f"retire-{decision_id}"
        if not isinstance(name, str) or not _EXECUTION_NAME.match(name):
            raise InvalidInput("$.execution_name: expected 1-80 of A-Z a-z 0-9 - _", field="$.execution_name")
        started = aws.client("stepfunctions").start_execution(stateMachineArn=config.retirement_state_machine_arn(),
                                                              name=name, input=json.dumps(detail))
        return {**taken, "execution": started["executionArn"]}
    answer = aws.client("events").put_events(Entries=[{"EventBusName": config.event_bus(), "Source": "genai.hub",
                                                        "DetailType": detail_type, "Detail": json.dumps(detail)}])
    if answer.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge did not accept {detail_type}: {answer['Entries'][0].get('ErrorCode')}")
    return {**taken, "event_id": answer["Entries"][0]["EventId"]}


def verified_requester(detail: dict, action: str) -> dict | None:
    """Who the decision door verified asked for this request (`detail` as the event carried it, before
    any default is filled in), or None when the event did not come through it. A decision id that names no decision, another action or another request is refused:
    an event that borrows a decision proves nothing."""
    decision_id = detail.get("decision_id") if isinstance(detail, dict) else None
    if decision_id is None:
        return None
    item = registry.get_item(decision_key(str(decision_id)))
    if not item or item.get("action") != action or item.get("detail_sha256") != _detail_digest(detail):
        raise InvalidInput(f"$.decision_id: {decision_id} is not the decision of this request: send it through the decision "
                           "door (hubctl), not as an event", field="$.decision_id")
    return {**item["requester"], "decision_id": decision_id}


def _deliver(stream: str, caller: Caller, request_id: str, subject: str, send) -> None:
    """Answer the waiting task; a wait that ended meanwhile (timeout, another decision) is audited and told."""
    try:
        send()
    except Exception as exc:
        code = aws.error_code(exc)
        if code not in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
            raise
        _audit(stream, caller, request_id, "DecisionNotDelivered", "FAILED", subject=subject, error=code)
        raise NothingToDecide(f"{subject}: the workflow's wait is over ({code}): nothing was decided") from None


def hub_account_of(request_context: dict) -> str:
    """The function's own account: requestContext.accountId of a function URL event."""
    return str(request_context.get("accountId") or "")
