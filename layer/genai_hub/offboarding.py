"""Tenant offboarding: the steps of statemachines/offboarding.asl.json.

Order matters, and is the point of the workflow:
1. access is cut **first**: the tenant becomes OFFBOARDING (the broker vends nothing to a tenant that
   is not ACTIVE), every profile is retagged `revoked` (the tenant access role's condition reads the
   tag on every call) and its sessions issued until now are revoked, so its next call is refused;
2. after the metering lag (Bedrock's datapoints reach CloudWatch late), a last metering closes its
   usage up to the moment access was cut, exactly once (the budget run's watermark);
3. its profiles and grants are deleted;
4. it becomes OFFBOARDED with who, when and why, and a tombstone: name, cost centre, final
   month-to-date spend and what was deleted. Its META, usage months and audit stream stay, so
   `hubctl tenants show`, `usage --tenant` and `audit show --tenant` keep working.

Status is the lock: only an ACTIVE or SUSPENDED tenant (or one whose offboarding failed after its
access was cut) can be moved to OFFBOARDING, by one execution (a conditional write); a duplicate
event finds it OFFBOARDING or OFFBOARDED and changes nothing. A tenant being onboarded (PENDING) or
whose onboarding FAILED is refused with the reason.

Compensation: a failure before anything was deleted restores access as it was (ACTIVE with its
profiles granted, or SUSPENDED); once deletion began nothing can be restored, so access stays cut,
the tenant stays OFFBOARDING with the failure recorded, and a new request finishes the job (each
step tolerates what an earlier attempt already did).

AWS calls, as documented: Bedrock DeleteInferenceProfile
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_DeleteInferenceProfile.html) and
TagResource (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_TagResource.html); DynamoDB
conditional UpdateItem (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html);
sessions revoked as IAM describes for role sessions, by aws:TokenIssueTime
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html), through genai_hub.access.
"""
from datetime import datetime, timedelta, timezone

from genai_hub import access, audit, aws, budget, config, decisions, metering, registry, rejections, schemas
from genai_hub.errors import HubError, InvalidInput, TenantNotFound, caught
from genai_hub.idempotency import idempotent_step

WORKFLOW = "tenant-offboarding"
DETAIL_TYPE = "TenantOffboardingRequested"
OFFBOARDABLE = ("ACTIVE", "SUSPENDED")


class TenantBusy(HubError):
    """Another execution is offboarding the tenant (or it changed status meanwhile)."""


class TenantUpdating(HubError):
    """A tenant update is running: the state machine retries until it has ended (then offboards)."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _audit(step: dict, action: str, outcome: str = "SUCCEEDED", **detail) -> None:
    request = step["request"]
    audit.append(audit.tenant_stream(request["tenant_id"]), action=action, outcome=outcome, workflow=WORKFLOW,
                 execution=step["context"]["execution"], actor=request["requested_by"], detail=detail)


def _what_it_holds(tenant_id: str) -> dict:
    """The profiles and grants offboarding deletes: {"profiles": [{model_id, profile_arn}], "grants": [model ids]}."""
    profiles = [{"model_id": p["model_id"], "profile_arn": p["profile_arn"]} for p in registry.tenant_items(tenant_id, "PROFILE#")]
    grants = sorted(g["model_id"] for g in registry.tenant_items(tenant_id, "GRANT#"))
    return {"profiles": sorted(profiles, key=lambda p: p["model_id"]), "grants": grants}


def _resumable(tenant: dict) -> bool:
    """OFFBOARDING after a failure that came after access was cut: a new request finishes it."""
    return tenant.get("status") == "OFFBOARDING" and bool((tenant.get("offboarding") or {}).get("failed"))


# --- validation and rejection ---------------------------------------------------------------

def validate_request(event: dict) -> dict:
    """The request checked against its schema and the tenant's status; what it would delete.
    `outcome`: "offboard", or "already" (OFFBOARDED, or being offboarded by another execution)."""
    if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
        raise InvalidInput(f"$.detail-type: expected {DETAIL_TYPE!r}", field="$.detail-type")
    request = schemas.validate_detail(DETAIL_TYPE, event.get("detail"))
    # Who asked, as the decision door verified it (hubctl); an event sent otherwise names a claim only.
    request["requester"] = decisions.verified_requester(event.get("detail"), "offboard")
    tenant_id = request["tenant_id"]
    try:
        tenant = registry.get_tenant(tenant_id)
    except TenantNotFound:
        raise InvalidInput(f"$.tenant_id: no tenant {tenant_id!r} in the registry (see hubctl tenants list)", field="$.tenant_id") from None
    status = tenant.get("status")
    if status == "PENDING":
        raise InvalidInput(f"$.tenant_id: {tenant_id} is being onboarded (PENDING): offboard it once its onboarding has ended",
                           field="$.tenant_id")
    if status == "FAILED":
        raise InvalidInput(f"$.tenant_id: {tenant_id}'s onboarding FAILED and was compensated: it holds nothing to offboard",
                           field="$.tenant_id")
    already = status == "OFFBOARDED" or (status == "OFFBOARDING" and not _resumable(tenant))
    summary = {"tenant_id": tenant_id, "status": status, "display_name": tenant.get("display_name", ""),
               "cost_center": tenant.get("cost_center", "")}
    return {"request": request, "tenant": summary, "plan": _what_it_holds(tenant_id),
            "outcome": "already" if already else "offboard"}


@idempotent_step
def record_rejection(step: dict) -> dict:
    """Audit a rejected offboarding request (on the tenant's stream when the tenant exists) and return
    the WorkflowInputRejected detail."""
    return rejections.record_tenant_rejection(
        step, WORKFLOW, lambda tenant_id: registry.get_item({"pk": registry.tenant_pk(tenant_id), "sk": "META"}) is not None)


# --- the offboarding --------------------------------------------------------------------------

@idempotent_step
def cut_access(step: dict) -> dict:
    """OFFBOARDING (one execution wins), profiles retagged `revoked`, sessions revoked: the next call is refused."""
    request, execution = step["request"], step["context"]["execution"]
    tenant_id = request["tenant_id"]
    tenant = registry.get_tenant(tenant_id)
    previous = (tenant.get("offboarding") or {}).get("previous_status") if _resumable(tenant) else tenant.get("status")
    cut_at = _iso(datetime.now(timezone.utc))
    try:
        registry.update_item(
            {"pk": registry.tenant_pk(tenant_id), "sk": "META"},
            {"status": "OFFBOARDING", "offboarding": {"execution": execution, "reason": request["reason"],
                                                      "requested_by": request["requested_by"], "requester": request.get("requester"),
                                                      "previous_status": previous,
                                                      "access_cut_at": cut_at, "failed": False}},
            condition="(#status IN (:active, :suspended) AND attribute_not_exists(#upd.execution)) "
                      "OR (#status = :offboarding AND #off.failed = :true)",
            names={"#status": "status", "#off": "offboarding", "#upd": "tenant_update"},
            values={":active": "ACTIVE", ":suspended": "SUSPENDED", ":offboarding": "OFFBOARDING", ":true": True},
        )
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            current = registry.get_tenant(tenant_id)
            if current.get("status") in OFFBOARDABLE:  # an update holds it (or released it just now): try again
                holder = (current.get("tenant_update") or {}).get("execution", "an update")
                raise TenantUpdating(f"{tenant_id}: {holder} is running; the offboarding waits for it") from None
            raise TenantBusy(f"{tenant_id} changed status meanwhile (another offboarding?): nothing done") from None
        raise
    arns = [p["profile_arn"] for p in registry.tenant_items(tenant_id, "PROFILE#")]
    access._tag_profiles(sorted(arns), access.REVOKED)
    access.revoke_sessions([tenant_id], f"offboarding: {request['reason']}")
    _audit(step, "CutAccess", previous_status=previous, profiles_revoked=len(arns), access_cut_at=cut_at)
    return {"access_cut_at": cut_at, "previous_status": previous, "wait_seconds": config.metering_lag_seconds()}


@idempotent_step
def close_usage(step: dict) -> dict:
    """Meter the tenant up to the end of the period in which its access was cut (nothing can come after)."""
    tenant_id = step["request"]["tenant_id"]
    cut_at = datetime.fromisoformat(step["cut"]["access_cut_at"].replace("Z", "+00:00"))
    period = config.metering_period_seconds()
    until = budget.aligned(cut_at, period)
    if until < cut_at:
        until += timedelta(seconds=period)
    result = metering.meter_tenant(registry.get_tenant(tenant_id), until)
    closed = {"until": _iso(until), "month": budget.month_of(until - timedelta(seconds=1)),
              "month_to_date_usd": result["month_to_date_usd"], "metered": result["metered"]}
    if closed["month"] != budget.month_of(until):  # cut in the month's last period: its total is the closed month's
        item = registry.get_item(metering.usage_key(tenant_id, closed["month"])) or {}
        closed["month_to_date_usd"] = str(item.get("month_to_date_usd", "0.00"))
    _audit(step, "CloseUsage", **closed)
    return closed


@idempotent_step
def delete_resources(step: dict) -> dict:
    """Delete the tenant's application inference profiles, then its grants and profile items. What an
    earlier attempt deleted is simply gone (NotFound is success); the list comes from the plan."""
    tenant_id, plan = step["request"]["tenant_id"], step["plan"]
    for profile in plan["profiles"]:
        arn = profile["profile_arn"]
        try:
            aws.client("bedrock", region=arn.split(":")[3]).delete_inference_profile(inferenceProfileIdentifier=arn)
        except Exception as exc:
            if aws.error_code(exc) != "ResourceNotFoundException":
                raise
    items = registry.tenant_items(tenant_id, "PROFILE#") + registry.tenant_items(tenant_id, "GRANT#")
    registry.delete_items([{"pk": i["pk"], "sk": i["sk"]} for i in items])
    deleted = {"profiles": [p["profile_arn"] for p in plan["profiles"]], "grants": plan["grants"]}
    _audit(step, "DeleteTenantResources", **deleted)
    return deleted


@idempotent_step
def mark_offboarded(step: dict) -> dict:
    """OFFBOARDED with the tombstone; the onboarding lock reopened for a new (never a replayed)
    onboarding request. Returns the TenantOffboarded detail."""
    request, execution, tenant = step["request"], step["context"]["execution"], step["tenant"]
    tenant_id, closed = request["tenant_id"], step["closed"]
    offboarded_at = registry.now()
    tombstone = {"display_name": tenant["display_name"], "cost_center": tenant["cost_center"], "month": closed["month"],
                 "final_month_to_date_usd": closed["month_to_date_usd"], "deleted": step["deleted"]}
    registry.update_item(
        {"pk": registry.tenant_pk(tenant_id), "sk": "META"},
        {"status": "OFFBOARDED", "offboarded_at": offboarded_at, "offboarded_by": request["requested_by"],
         "offboarded_reason": request["reason"], "tombstone": tombstone, "access": None, "access_principals": [],
         "offboarding": {"execution": execution, "reason": request["reason"], "requested_by": request["requested_by"],
                         "previous_status": step["cut"]["previous_status"], "access_cut_at": step["cut"]["access_cut_at"],
                         "failed": False}},
        condition="#status = :offboarding", names={"#status": "status"}, values={":offboarding": "OFFBOARDING"},
    )
    registry.reopen_lock(tenant_id)
    _audit(step, "OffboardTenant", status="OFFBOARDED", reason=request["reason"], **tombstone)
    return {"tenant_id": tenant_id, "display_name": tenant["display_name"], "cost_center": tenant["cost_center"],
            "reason": request["reason"], "requested_by": request["requested_by"], "offboarded_at": offboarded_at,
            "access_cut_at": step["cut"]["access_cut_at"], "month": closed["month"],
            "final_month_to_date_usd": closed["month_to_date_usd"], "deleted": step["deleted"], "execution": execution}


# --- when it fails ----------------------------------------------------------------------------

@idempotent_step
def restore_access(step: dict) -> dict:
    """Compensation before anything was deleted: the tenant as it was (ACTIVE with its profiles
    granted, or SUSPENDED with them suspended). Tolerates an execution that never cut access."""
    request, execution = step["request"], step["context"]["execution"]
    tenant_id = request["tenant_id"]
    name, message = caught(step["error"])
    tenant = registry.get_tenant(tenant_id)
    mine = tenant.get("status") == "OFFBOARDING" and (tenant.get("offboarding") or {}).get("execution") == execution
    status = tenant.get("status")
    if mine:
        status = tenant["offboarding"]["previous_status"]
        registry.update_item({"pk": registry.tenant_pk(tenant_id), "sk": "META"},
                             {"status": status, "offboarding": None},
                             condition="#status = :offboarding", names={"#status": "status"}, values={":offboarding": "OFFBOARDING"})
        profiles = access.granted_models(tenant_id)["profiles"]
        access._tag_profiles(sorted(profiles.values()), access.SUSPENDED if status == "SUSPENDED" else access.GRANTED)
    _audit(step, "RestoreAccess", outcome="COMPENSATED" if mine else "FAILED", error=name, reason=message, status=status)
    return {"tenant_id": tenant_id, "error": name, "reason": message, "compensated": True, "status": status, "execution": execution}


@idempotent_step
def record_failure(step: dict) -> dict:
    """Deletion began and did not finish: access stays cut, OFFBOARDING with the failure; a new request finishes it."""
    request, execution = step["request"], step["context"]["execution"]
    tenant_id = request["tenant_id"]
    name, message = caught(step["error"])
    failure = {"error": name, "reason": message, "execution": execution, "at": registry.now()}
    aws.client("dynamodb").update_item(
        TableName=config.registry_table(), Key=registry.to_item({"pk": registry.tenant_pk(tenant_id), "sk": "META"}),
        UpdateExpression="SET #off.failed = :true, #off.failure = :failure", ConditionExpression="#status = :offboarding",
        ExpressionAttributeNames={"#off": "offboarding", "#status": "status"},
        ExpressionAttributeValues=registry.to_item({":true": True, ":failure": failure, ":offboarding": "OFFBOARDING"}))
    _audit(step, "FailOffboarding", outcome="FAILED", error=name, reason=message,
           fix=f"access stays cut; send TenantOffboardingRequested for {tenant_id} again (hubctl tenants offboard) to finish")
    return {"tenant_id": tenant_id, "error": name, "reason": message, "compensated": False, "status": "OFFBOARDING",
            "execution": execution}
