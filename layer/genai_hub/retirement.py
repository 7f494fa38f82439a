"""Model retirement: the logic of each step of statemachines/retirement.asl.json.

An admin retires a model version (an imported model, or a foundation model the tenants reach
through application inference profiles) for all tenants or a listed few:

    plan (lock the scope, affected tenants from the model's grants, batches)
    -> notify each tenant (ModelRetirementScheduled), mark its grant RETIRING
    -> wait for the retirement date (a task token: `hubctl retire --cancel` fails it)
    -> revoke (spoke invoke-role policies, then profiles and grants), batch by batch
    -> delete the imported model once no tenant keeps it -> ModelRetired.

Cancellation (or a failure before the date) restores every grant and tells the tenants.
Registry items, besides the grants: pk `MODEL#<model_id>` with sk `RETIREMENT#<id>` (the
retirement: scope, date, status, task token) and `RETIREMENT-BATCH#<id>#<n>` (its tenants,
`batch_size` per item), so the state machine's Map carries batch numbers, never tenant lists:
its history stays small for any number of tenants.
"""
import hashlib
import json
import os
import re
from datetime import datetime, timedelta, timezone

from genai_hub import access, audit, aws, config, decisions, registry, rejections, schemas
from genai_hub.errors import (AlreadyRetired, InvalidInput, RetirementConflict, RetirementInProgress, RetirementNotConfirmed,
                              caught, rejected_field)
from genai_hub.idempotency import idempotent_step

WORKFLOW = "model-retirement"
DETAIL_TYPE = "ModelRetirementRequested"
DEFAULT_GRACE = "P30D"
# A Standard execution lives at most a year; the revocation after the wait needs some of it.
MAX_GRACE = timedelta(days=360)
# Retirement blocks new grants in its scope from planning on, and for good once COMPLETED.
BLOCKING = ("PLANNED", "SCHEDULED", "REVOKING", "COMPLETED")
RETIRABLE = {"IMPORTED", "APPROVED", "REJECTED", "RETIRING"}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def batch_size() -> int:
    return int(os.environ.get("RETIREMENT_BATCH_SIZE", "250"))


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse_duration(text: str) -> timedelta:
    """ISO 8601 days/hours/minutes/seconds (P30D, PT90S, P1DT12H); months and years are ambiguous."""
    match = _DURATION.match(text or "")
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise InvalidInput(f"$.grace: {text!r} is not valid: expected an ISO 8601 duration such as P30D or PT90S", field="$.grace")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def retirement_id(model_id: str, scope) -> str:
    """Deterministic per model and scope: the same request twice is the same retirement."""
    scope_key = scope if scope == "all" else ",".join(sorted(scope))
    return hashlib.sha256(f"{model_id}|{scope_key}".encode()).hexdigest()[:16]


def record_key(model_id: str, rid: str) -> dict:
    return {"pk": f"MODEL#{model_id}", "sk": f"RETIREMENT#{rid}"}


def batch_key(model_id: str, rid: str, number: int) -> dict:
    return {"pk": f"MODEL#{model_id}", "sk": f"RETIREMENT-BATCH#{rid}#{number:05d}"}


def retirements(model_id: str) -> list[dict]:
    return [r for r in registry.partition_items(f"MODEL#{model_id}", "RETIREMENT#") if r.get("kind") == "retirement"]


def blocking(model_id: str, tenant_id: str) -> dict | None:
    """The retirement that forbids granting `model_id` to `tenant_id`, if any."""
    for record in retirements(model_id):
        if record["status"] in BLOCKING and (record["scope"] == "all" or tenant_id in record["scope"]):
            return record
    return None


# --- plan ---------------------------------------------------------------------------------------

def as_event(execution_input) -> dict:
    """The retirement request as an event, however the execution was started: an EventBridge event
    carries `detail`; `hubctl retire` (StartExecution) sends the request itself. The state machine
    passes its input as it came ($$.Execution.Input): deciding here costs no state transition."""
    if isinstance(execution_input, dict) and "detail" in execution_input:
        return execution_input
    return {"detail-type": DETAIL_TYPE, "source": "start-execution", "detail": execution_input}


def validate_request(event: dict) -> dict:
    """The request with defaults, its model id, scope and retirement date; InvalidInput names the field."""
    if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
        raise InvalidInput(f"$.detail-type: expected {DETAIL_TYPE!r}", field="$.detail-type")
    request = schemas.validate_detail(DETAIL_TYPE, event.get("detail"))
    if "grace" in request and "at" in request:
        raise InvalidInput("$.at: give either grace or at, not both", field="$.at")
    now = _now()
    if "at" in request:
        try:
            retire_at = datetime.fromisoformat(request["at"].replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"$.at: {request['at']!r} is not valid: expected an RFC 3339 date-time such as 2026-12-31T00:00:00Z",
                               field="$.at") from None
        if retire_at.tzinfo is None:
            raise InvalidInput(f"$.at: {request['at']!r} has no time zone: expected e.g. {request['at']}Z", field="$.at")
        retire_at = retire_at.astimezone(timezone.utc).replace(microsecond=0)
        if retire_at < now:
            raise InvalidInput(f"$.at: {request['at']} is in the past", field="$.at")
    else:
        retire_at = now + parse_duration(request.setdefault("grace", DEFAULT_GRACE))
    if retire_at - now > MAX_GRACE:
        raise InvalidInput(f"$.{'at' if 'at' in request else 'grace'}: the retirement date must be within {MAX_GRACE.days} days",
                           field=f"$.{'at' if 'at' in request else 'grace'}")
    model_id = f"{request['model']}:{request['version']}"
    if request["successor"] == model_id:
        raise InvalidInput("$.successor: a version cannot succeed itself", field="$.successor")
    scope = "all" if request["tenants"] == "all" else sorted(request["tenants"])
    requester = decisions.verified_requester(event.get("detail"), "retire")
    if requester is None and decisions.needs_confirmation(scope):
        raise InvalidInput("$.decision_id: a retirement of every tenant needs a second person's confirmation (the decision "
                           "policy's four_eyes.retirement_all_needs_confirmation): request it through the decision door "
                           "(hubctl retire), which records who asked", field="$.decision_id")
    return {**request, "model_id": model_id, "scope": scope, "retire_at": _iso(retire_at),
            "retirement_id": retirement_id(model_id, scope), "requester": requester}


def _target(request: dict) -> dict:
    """What is retired: an imported version of the registry, or a foundation model tenants hold."""
    version = registry.get_item(registry.version_key(request["model"], request["version"]))
    if version:
        status = version["status"]
        if status == "RETIRED":
            raise AlreadyRetired(f"{request['model_id']} is RETIRED already: nothing to do")
        if status not in RETIRABLE:
            raise RetirementConflict(f"$.version: {request['model_id']} is {status}; retire it after its "
                                     f"{'import' if status in ('IMPORTING', 'FAILED') else 'evaluation'} has ended")
        return {"kind": "imported", "imported_model_arn": version.get("imported_model_arn"), "version_status": status}
    return {"kind": "foundation", "imported_model_arn": None, "version_status": None}


def _affected(request: dict, grants: list[dict]) -> tuple[list[dict], list[str]]:
    """Of the model's grants, those in scope, and listed tenants without one."""
    if request["scope"] != "all":
        wanted = set(request["scope"])
        grants = [g for g in grants if g["tenant_id"] in wanted]
    grants.sort(key=lambda g: g["tenant_id"])
    held = {g["tenant_id"] for g in grants}
    not_granted = [] if request["scope"] == "all" else [t for t in request["scope"] if t not in held]
    return ([{"tenant_id": g["tenant_id"], "kind": g.get("kind", "grant"), "profile_arn": g.get("profile_arn"),
              "invoke_arn": g.get("invoke_arn")} for g in grants], not_granted)


def _existing_conflict(request: dict) -> None:
    record = registry.get_item(record_key(request["model_id"], request["retirement_id"]))
    if record and record["status"] == "COMPLETED":
        raise AlreadyRetired(f"{request['model_id']} is retired already for this scope (retirement {request['retirement_id']})")
    if record and record["status"] not in ("CANCELLED", "FAILED"):
        raise RetirementInProgress(f"retirement {request['retirement_id']} of {request['model_id']} for this scope is "
                                   f"{record['status']} (execution {record['execution']})")


def _plan_output(request: dict, target: dict, tenants: list[dict], not_granted: list[str], batches: int, dry_run: bool) -> dict:
    return {
        "dry_run": dry_run, "retirement_id": request["retirement_id"], "model_id": request["model_id"],
        "model": request["model"], "version": request["version"], "kind": target["kind"],
        "imported_model_arn": target["imported_model_arn"], "scope": request["scope"], "retire_at": request["retire_at"],
        "successor": request["successor"], "reason": request["reason"], "requested_by": request["requested_by"],
        "tenant_count": len(tenants), "profile_count": sum(1 for t in tenants if t["profile_arn"]),
        # The Map iterates over batch numbers: a small payload and history for any tenant count.
        "batches": list(range(batches)), "not_granted": not_granted[:100],
    }


@idempotent_step
def plan_retirement(step: dict) -> dict:
    """Validate, take the scope's lock, find the affected tenants and write them in batches.
    A dry run stops after finding them and changes nothing."""
    request, execution = validate_request(as_event(step["event"])), step["context"]["execution"]
    target = _target(request)
    # Before the dry run's branch: a dry run of a model the hub does not know is rejected as the real run is.
    if target["kind"] == "foundation" and not registry.model_is_granted(request["model_id"]) and not retirements(request["model_id"]):
        raise InvalidInput(f"$.model: no imported version {request['model_id']} in the registry and no tenant holds a grant of it",
                           field="$.model")
    if request["dry_run"]:
        _existing_conflict(request)
        grants = registry.model_grants(request["model_id"])
        tenants, not_granted = _affected(request, grants)
        impact = _plan_output(request, target, tenants, not_granted, 0, True)
        remaining = len(grants) - len(tenants)
        return {**impact, "tenants": [t["tenant_id"] for t in tenants][:100], "tenants_remaining": remaining,
                "would_delete_imported_model": target["kind"] == "imported" and remaining == 0}
    key = record_key(request["model_id"], request["retirement_id"])
    record = {**key, "kind": "retirement", "retirement_id": request["retirement_id"], "model_id": request["model_id"],
              "model": request["model"], "version": request["version"], "target": target["kind"], "scope": request["scope"],
              "retire_at": request["retire_at"], "successor": request["successor"], "reason": request["reason"],
              "requested_by": request["requested_by"], "requester": request["requester"], "status": "PLANNED", "execution": execution,
              "previous_status": target["version_status"], "requested_at": registry.now(), "updated_at": registry.now()}
    try:
        # The lock: one live retirement per model and scope; from now on it blocks new grants in scope.
        aws.client("dynamodb").put_item(
            TableName=config.registry_table(), Item=registry.to_item(record),
            ConditionExpression="attribute_not_exists(pk) OR #st IN (:cancelled, :failed) OR #ex = :ex",
            ExpressionAttributeNames={"#st": "status", "#ex": "execution"},
            ExpressionAttributeValues={":cancelled": {"S": "CANCELLED"}, ":failed": {"S": "FAILED"}, ":ex": {"S": execution}})
    except Exception as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        _existing_conflict(request)
        raise
    # Read after the lock: from then on no grant in scope can be added.
    tenants, not_granted = _affected(request, registry.model_grants(request["model_id"]))
    size = batch_size()
    stale = registry.partition_items(key["pk"], f"RETIREMENT-BATCH#{request['retirement_id']}#")
    registry.delete_items([{"pk": b["pk"], "sk": b["sk"]} for b in stale])  # of a cancelled or failed attempt
    batches = [tenants[i:i + size] for i in range(0, len(tenants), size)]
    registry.put_items([{**batch_key(request["model_id"], request["retirement_id"], n), "kind": "retirement-batch",
                         "tenants": batch} for n, batch in enumerate(batches)])
    if target["kind"] == "imported" and request["scope"] == "all":
        registry.update_item(registry.version_key(request["model"], request["version"]), {"status": "RETIRING"},
                             condition="#status IN (:a, :b, :c, :d)", names={"#status": "status"},
                             values={":a": "IMPORTED", ":b": "APPROVED", ":c": "REJECTED", ":d": "RETIRING"})
    registry.update_item(key, {"tenant_count": len(tenants), "batch_count": len(batches), "not_granted": not_granted})
    _audit_model(request, step, "PlanRetirement", outcome="PLANNED", scope=request["scope"], retire_at=request["retire_at"],
                 tenants=len(tenants), successor=request["successor"], reason=request["reason"], not_granted=not_granted[:100])
    return _plan_output(request, target, tenants, not_granted, len(batches), False)


def _audit_model(plan: dict, step: dict, action: str, outcome: str = "SUCCEEDED", actor: str | None = None, **detail) -> None:
    audit.append(audit.model_stream(plan["model"]), action=action, outcome=outcome, workflow=WORKFLOW,
                 execution=step["context"]["execution"], actor=actor or plan["requested_by"],
                 detail={"model_id": plan["model_id"], "retirement_id": plan["retirement_id"], **detail})


def _audit_tenant(plan: dict, step: dict, tenant_id: str, action: str, outcome: str, actor: str | None = None, **detail) -> None:
    audit.append(audit.tenant_stream(tenant_id), action=action, outcome=outcome, workflow=WORKFLOW,
                 execution=step["context"]["execution"], actor=actor or plan["requested_by"], once=True,
                 detail={"model_id": plan["model_id"], "retirement_id": plan["retirement_id"], **detail})


def _batch(step: dict) -> list[dict]:
    plan = step["plan"]
    item = registry.get_item(batch_key(plan["model_id"], plan["retirement_id"], int(step["batch"])))
    tenants = item["tenants"] if item else []
    # A tenant offboarded since the plan was made is skipped: its grants and profiles went with it,
    # and nothing may be recreated, notified or audited for it (tenant offboarding, genai_hub.offboarding).
    statuses = registry.get_tenants([t["tenant_id"] for t in tenants])
    return [t for t in tenants if statuses.get(t["tenant_id"], {}).get("status") not in ("OFFBOARDING", "OFFBOARDED")]


def _put_events(detail_type: str, details: list[dict]) -> None:
    """PutEvents ten at a time; entries EventBridge did not take are sent again, then it is an error."""
    events = aws.client("events")
    for start in range(0, len(details), 10):
        entries = [{"EventBusName": config.event_bus(), "Source": "genai.hub", "DetailType": detail_type,
                    "Detail": json.dumps(d)} for d in details[start:start + 10]]
        for _ in range(5):
            response = events.put_events(Entries=entries)
            if not response.get("FailedEntryCount"):
                break
            entries = [e for e, r in zip(entries, response["Entries"]) if r.get("ErrorCode")]
        else:
            raise RuntimeError(f"EventBridge did not take {len(entries)} {detail_type} events")


def _mark_grant(model_id: str, tenant_id: str, fields: dict, condition: str | None = None, values: dict | None = None) -> bool:
    try:
        registry.update_item({"pk": registry.tenant_pk(tenant_id), "sk": f"GRANT#{model_id}"}, fields,
                             condition=condition, values=values, names={"#rid": "retirement_id"} if condition else None)
        return True
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return False  # revoked meanwhile, or marked by another retirement
        raise


# --- notify, wait ---------------------------------------------------------------------------------

@idempotent_step
def schedule_batch(step: dict) -> dict:
    """Mark one batch's grants RETIRING with the date, audit each tenant, send each its notice."""
    plan, execution = step["plan"], step["context"]["execution"]
    notices = []
    for tenant in _batch(step):
        tenant_id = tenant["tenant_id"]
        # A grant already marked by another live retirement keeps that mark (its cancellation must not
        # clear ours, nor ours theirs); this retirement revokes it all the same, from its batches.
        _mark_grant(plan["model_id"], tenant_id, {"status": "RETIRING", "retire_at": plan["retire_at"],
                                                  "retirement_id": plan["retirement_id"], "successor": plan["successor"]},
                    condition="attribute_not_exists(#rid) OR attribute_type(#rid, :null) OR #rid = :rid",
                    values={":null": "NULL", ":rid": plan["retirement_id"]})
        _audit_tenant(plan, step, tenant_id, "ScheduleRetirement", "SCHEDULED", retire_at=plan["retire_at"],
                      successor=plan["successor"], reason=plan["reason"])
        notices.append({"tenant_id": tenant_id, "model_id": plan["model_id"], "retire_at": plan["retire_at"],
                        "reason": plan["reason"], "successor": plan["successor"], "retirement_id": plan["retirement_id"],
                        "execution": execution})
    _put_events("ModelRetirementScheduled", notices)
    return {"notified": len(notices)}


@idempotent_step
def start_grace_period(step: dict) -> dict:
    """Seconds left until the retirement date: the wait's timeout, computed right before it starts."""
    plan = step["plan"]
    retire_at = datetime.fromisoformat(plan["retire_at"].replace("Z", "+00:00"))
    wait = max(1, int((retire_at - _now()).total_seconds()))
    _audit_model(plan, step, "ScheduleRetirement", outcome="SCHEDULED", retire_at=plan["retire_at"],
                 tenants_notified=sum(r["notified"] for r in step.get("notified", [])))
    return {"wait_seconds": wait}


@idempotent_step
def await_retirement_date(step: dict) -> dict:
    """Keep the task token where `hubctl retire --cancel` finds it; the wait ends by timeout (the date)."""
    plan = step["plan"]
    registry.update_item(record_key(plan["model_id"], plan["retirement_id"]),
                         {"status": "SCHEDULED", "task_token": step["token"], "wait_started_at": registry.now()},
                         condition="#ex = :ex", names={"#ex": "execution"}, values={":ex": step["context"]["execution"]})
    return {"waiting": True}


# --- revoke, finish ------------------------------------------------------------------------------------

@idempotent_step
def check_confirmation(step: dict) -> dict:
    """At the date: a retirement of every tenant the decision policy wants confirmed goes ahead only if a
    second person confirmed it (genai_hub.decisions); otherwise it is called off, grants restored."""
    plan = step["plan"]
    record = registry.get_item(record_key(plan["model_id"], plan["retirement_id"])) or {}
    if decisions.needs_confirmation(plan["scope"]) and not record.get("confirmed_by"):
        raise RetirementNotConfirmed(f"nobody confirmed the retirement of {plan['model_id']} for every tenant before its date "
                                     f"{plan['retire_at']} (four_eyes.retirement_all_needs_confirmation): called off")
    return {"confirmed_by": record.get("confirmed_by")}


@idempotent_step
def revoke_tenant_access(step: dict) -> dict:
    """Cut one batch of tenants off the model in the hub, before anything is deleted: their grants are
    marked REVOKED (a new session no longer names the model), their profile of it is retagged (a
    foundation model: refused on the next call), their sessions are revoked (an imported model)."""
    plan = step["plan"]
    tenants = _batch(step)
    if int(step["batch"]) == 0:
        registry.update_item(record_key(plan["model_id"], plan["retirement_id"]), {"status": "REVOKING"})
    tenant_ids = [t["tenant_id"] for t in tenants]
    for tenant_id in tenant_ids:
        # revoked_at stays whatever a re-run of a failed retirement marks later: access revoked stays revoked.
        _mark_grant(plan["model_id"], tenant_id, {"status": "REVOKED", "revoked_at": registry.now()})
    result = access.revoke_model(tenant_ids, plan["model_id"], plan["kind"], f"retirement {plan['retirement_id']}")
    return {"tenants_revoked": len(tenant_ids), **result}


@idempotent_step
def remove_retired_grants(step: dict) -> dict:
    """Delete each tenant's application inference profile of the model, then its grant; audit each."""
    plan = step["plan"]
    tenants, deleted_profiles, keys = _batch(step), 0, []
    for tenant in tenants:
        tenant_id, arn = tenant["tenant_id"], tenant["profile_arn"]
        if arn:
            try:
                aws.client("bedrock", region=arn.split(":")[3]).delete_inference_profile(inferenceProfileIdentifier=arn)
                deleted_profiles += 1
            except Exception as exc:
                if aws.error_code(exc) != "ResourceNotFoundException":
                    raise
        _audit_tenant(plan, step, tenant_id, "RevokeModelAccess", "RETIRED", profile_arn=arn, invoke_arn=tenant["invoke_arn"],
                      successor=plan["successor"])
        keys += [{"pk": registry.tenant_pk(tenant_id), "sk": f"GRANT#{plan['model_id']}"}]
        if arn:
            keys.append({"pk": registry.tenant_pk(tenant_id), "sk": f"PROFILE#{plan['model_id']}"})
    registry.delete_items(keys)
    return {"tenants_revoked": len(tenants), "profiles_deleted": deleted_profiles}


@idempotent_step
def finish_retirement(step: dict) -> dict:
    """Delete the imported model once no tenant keeps it (RETIRED); the retirement is COMPLETED."""
    plan = step["plan"]
    revoked = step.get("revoked", [])
    remaining = len(registry.model_grants(plan["model_id"]))
    deleted = False
    version = registry.get_item(registry.version_key(plan["model"], plan["version"])) if plan["kind"] == "imported" else None
    # No tenant keeps it: delete the imported model, unless a partial retirement meets a version not
    # promoted yet (REJECTED or still to be evaluated), which other tenants may still be given.
    if version and remaining == 0 and (plan["scope"] == "all" or version["status"] == "APPROVED"):
        try:
            aws.client("bedrock").delete_imported_model(modelIdentifier=plan["imported_model_arn"])
            deleted = True
        except Exception as exc:
            if aws.error_code(exc) != "ResourceNotFoundException":
                raise
            deleted = True  # deleted by an earlier attempt
        registry.update_item(registry.version_key(plan["model"], plan["version"]), {"status": "RETIRED", "retired_at": registry.now(),
                                                                           "retired_by": plan["requested_by"]})
    status = "RETIRED" if remaining == 0 and (deleted or plan["kind"] == "foundation") else "RETIRED_FOR_SCOPE"
    totals = {"tenants_revoked": sum(r["tenants_revoked"] for r in revoked),
              "profiles_deleted": sum(r["profiles_deleted"] for r in revoked)}
    registry.update_item(record_key(plan["model_id"], plan["retirement_id"]),
                         {"status": "COMPLETED", "completed_at": registry.now(), "task_token": None, **totals,
                          "imported_model_deleted": deleted})
    _audit_model(plan, step, "RetireModel", outcome=status, **totals, tenants_remaining=remaining,
                 imported_model_deleted=deleted)
    return {"model_id": plan["model_id"], "retirement_id": plan["retirement_id"], "scope": plan["scope"], **totals,
            "tenants_remaining": remaining, "imported_model_deleted": deleted, "status": status,
            "successor": plan["successor"], "execution": step["context"]["execution"]}


# --- cancellation, failure, rejection ------------------------------------------------------------

def _stop_reason(step: dict) -> tuple[bool, str, str]:
    """(cancelled?, by whom, why) from the wait's error: `hubctl retire --cancel` or a failure."""
    name, message = caught(step["error"])
    if name == "RetirementNotConfirmed":
        return True, "genai-hub", message
    if name == "RetirementCancelled":
        try:
            cause = json.loads(step["error"].get("Cause") or "{}")
        except ValueError:
            cause = {}
        return True, str(cause.get("cancelled_by", "unknown"))[:256], str(cause.get("reason", "cancelled"))[:1000]
    return False, "genai-hub", f"{name}: {message}"


@idempotent_step
def restore_batch(step: dict) -> dict:
    """Undo one batch's schedule: grants back to ACTIVE, audited, and each tenant told."""
    plan, execution = step["plan"], step["context"]["execution"]
    cancelled, who, why = _stop_reason(step)
    notices = []
    for tenant in _batch(step):
        tenant_id = tenant["tenant_id"]
        _mark_grant(plan["model_id"], tenant_id, {"status": "ACTIVE", "retire_at": None, "retirement_id": None, "successor": None},
                    condition="#rid = :rid", values={":rid": plan["retirement_id"]})
        _audit_tenant(plan, step, tenant_id, "CancelRetirement", "CANCELLED" if cancelled else "COMPENSATED", actor=who, reason=why)
        notices.append({"tenant_id": tenant_id, "model_id": plan["model_id"], "retirement_id": plan["retirement_id"],
                        "cancelled_by": who, "reason": why, "execution": execution})
    _put_events("ModelRetirementCancelled", notices)
    return {"restored": len(notices)}


@idempotent_step
def end_cancelled_retirement(step: dict) -> dict:
    """The retirement is CANCELLED (or FAILED before its date): the version's status as it was."""
    plan = step["plan"]
    cancelled, who, why = _stop_reason(step)
    if plan["kind"] == "imported" and plan["scope"] == "all":
        previous = registry.get_item(record_key(plan["model_id"], plan["retirement_id"])).get("previous_status") or "APPROVED"
        registry.update_item(registry.version_key(plan["model"], plan["version"]), {"status": previous},
                             condition="#status = :retiring", names={"#status": "status"}, values={":retiring": "RETIRING"})
    status = "CANCELLED" if cancelled else "FAILED"
    registry.update_item(record_key(plan["model_id"], plan["retirement_id"]),
                         {"status": status, "ended_at": registry.now(), "task_token": None, "end_reason": why, "ended_by": who})
    _audit_model(plan, step, "CancelRetirement" if cancelled else "FailRetirement", outcome=status, actor=who, reason=why)
    return {"cancelled": cancelled, "by": who, "reason": why, "restored": sum(r["restored"] for r in step.get("restored", []))}


@idempotent_step
def fail_retirement(step: dict) -> dict:
    """Revocation failed after the date: FAILED with the reason. Access already revoked stays revoked
    (a retirement date is a promise); the same request again finishes the rest."""
    plan = step["plan"]
    name, message = caught(step["error"])
    registry.update_item(record_key(plan["model_id"], plan["retirement_id"]),
                         {"status": "FAILED", "ended_at": registry.now(), "task_token": None, "end_reason": f"{name}: {message}"})
    _audit_model(plan, step, "FailRetirement", outcome="FAILED", error=name, reason=message)
    return {"error": name, "reason": message}


@idempotent_step
def record_rejection(step: dict) -> dict:
    """Audit a request that cannot be run as sent (schema, dates, version state)."""
    event, execution = as_event(step.get("event")), step["context"]["execution"]
    name, message = caught(step["error"])
    detail = rejections.detail_of(event)
    model = detail.get("model")
    stream = audit.model_stream(model) if isinstance(model, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", model) \
        else f"rejected#{WORKFLOW}"
    actor = detail.get("requested_by") if isinstance(detail.get("requested_by"), str) else "unknown"
    field = rejected_field(message)
    audit.append(stream, action="RejectRetirementRequest", outcome="REJECTED", workflow=WORKFLOW, execution=execution,
                 actor=actor[:256], detail={"error": name, "field": field, "reason": message, "event_id": str(event.get("id", ""))[:256]})
    return rejections.workflow_input_rejected(WORKFLOW, event, field, message, execution)
