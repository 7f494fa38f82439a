"""Tenant update: the steps of statemachines/tenant_update.asl.json.

A tenant lives for years after onboarding: it asks for a model, gives one up, gets a bigger budget,
moves cost centre. An update changes an ACTIVE or SUSPENDED tenant in this order:
1. **lock and plan**: the META item's `update` marker is taken by one execution (a conditional
   write; a second update waits for the first, an offboarding waits for it too), and the request is
   checked again against the tenant as it is now, under the lock;
2. **settings**: budget (only the fields given), thresholds, RED policy, cost centre; the
   `genai-hub:cost-center` tag of every profile follows. The next budget run assesses with the new
   limit: a raise that takes a SUSPENDED tenant back under it restores it there, not silently here;
3. **add models**: each through the same residency-aware profile choice and retirement rule as at
   onboarding (a model retired or retiring for the tenant is refused, naming its successor);
   a SUSPENDED tenant's new profiles are suspended too;
4. **remove models**: access is revoked first (profile tagged `revoked`; sessions revoked for an
   imported model, which sessions name), then the profile and the grant are deleted;
5. **finish**: the marker is released, `TenantUpdated` says what changed.

A data residency change is refused: it would move every profile (offboard and onboard again).

Compensation (`undo`): a failure anywhere puts the tenant back as it was: profiles created are
deleted, settings and tags restored, removed models granted again where their profile still exists
(a removal whose profile was already deleted gets a new profile of the same model: its ARN changes).

AWS calls, as documented: Bedrock DeleteInferenceProfile
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_DeleteInferenceProfile.html) and
TagResource (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_TagResource.html); DynamoDB
conditional UpdateItem (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html);
sessions revoked as IAM describes for role sessions, by aws:TokenIssueTime
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html), through genai_hub.access.
"""
from genai_hub import access, audit, aws, config, onboarding, registry, rejections, retirement, schemas
from genai_hub.errors import HubError, InvalidInput, TenantNotFound, caught
from genai_hub.idempotency import idempotent_step

WORKFLOW = "tenant-update"
DETAIL_TYPE = "TenantUpdateRequested"
UPDATABLE = ("ACTIVE", "SUSPENDED")
MARKER = "tenant_update"  # the META attribute an update holds while it runs
SETTINGS = {"budget", "cost_center", "guardrail"}  # what apply_settings changes


class TenantBusy(HubError):
    """Another update of the tenant is running: retried by the state machine until it ends."""


def _key(tenant_id: str) -> dict:
    return {"pk": registry.tenant_pk(tenant_id), "sk": "META"}


def _audit(step: dict, action: str, outcome: str = "SUCCEEDED", **detail) -> None:
    request = step["request"]
    audit.append(audit.tenant_stream(request["tenant_id"]), action=action, outcome=outcome, workflow=WORKFLOW,
                 execution=step["context"]["execution"], actor=request["requested_by"], detail=detail)


def _held(tenant_id: str) -> dict:
    """What the tenant holds now: {model_id: {"kind", "profile_arn" or None, "invoke_arn" or None}}."""
    items = registry.tenant_items(tenant_id, "")
    profiles = {i["model_id"]: i["profile_arn"] for i in items if i.get("kind") == "profile"}
    return {g["model_id"]: {"kind": g.get("kind", "grant"), "profile_arn": profiles.get(g["model_id"]), "invoke_arn": g.get("invoke_arn")}
            for g in items if g.get("sk", "").startswith("GRANT#")}


def _number(value) -> str:
    """A number as onboarding stores it: 8000, not 8000.0."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _merged_budget(current: dict, change: dict | None) -> dict:
    """The budget as stored (strings, as onboarding stores it) with the request's fields applied."""
    if not change:
        return current
    thresholds = {**current.get("thresholds", {}), **{k: _number(v) for k, v in change.get("thresholds", {}).items()}}
    merged = {**current, "thresholds": thresholds}
    if "monthly_limit_usd" in change:
        merged["monthly_limit_usd"] = _number(change["monthly_limit_usd"])
    if "on_red" in change:
        merged["on_red"] = change["on_red"]
    if float(thresholds.get("yellow", 0.8)) > float(thresholds.get("orange", 0.9)):
        raise InvalidInput(f"$.budget.thresholds: yellow ({thresholds.get('yellow')}) must not be above orange "
                           f"({thresholds.get('orange')})", field="$.budget.thresholds")
    return merged


def _guardrail_name(tenant: dict) -> str:
    return tenant.get("guardrail") or config.default_guardrail()  # registered before guardrails: the default


def _check(request: dict, tenant: dict) -> dict:
    """The request against the tenant as it is: InvalidInput naming the field, or the plan."""
    tenant_id, status = tenant["tenant_id"], tenant.get("status")
    if status not in UPDATABLE:
        why = {"PENDING": "is being onboarded: send the update once its onboarding has ended",
               "FAILED": "failed its onboarding: onboard it again with a corrected request",
               "OFFBOARDING": "is being offboarded", "OFFBOARDED": "is offboarded: onboard it again with a new request"}
        raise InvalidInput(f"$.tenant_id: {tenant_id} {why.get(status, f'is {status}')}", field="$.tenant_id")
    held = _held(tenant_id)
    for index, model in enumerate(request.get("add_models", [])):
        if model in held:
            raise InvalidInput(f"$.add_models[{index}]: {tenant_id} already holds {model}", field=f"$.add_models[{index}]")
        retired = retirement.blocking(model, tenant_id)
        if retired:
            raise InvalidInput(f"$.add_models[{index}]: {model} is {'retired' if retired['status'] == 'COMPLETED' else 'retiring'} "
                               f"for this tenant" + (f"; ask for its successor {retired['successor']}" if retired.get("successor") else ""),
                               field=f"$.add_models[{index}]")
    for index, model in enumerate(request.get("remove_models", [])):
        if model not in held:
            raise InvalidInput(f"$.remove_models[{index}]: {tenant_id} does not hold {model} (it holds "
                               f"{', '.join(sorted(held)) or 'nothing'})", field=f"$.remove_models[{index}]")
        if model in request.get("add_models", []):
            raise InvalidInput(f"$.remove_models[{index}]: {model} is also in add_models", field=f"$.remove_models[{index}]")
    budget = _merged_budget(tenant.get("budget") or {}, request.get("budget"))
    return {"status": status, "add_models": request.get("add_models", []),
            "remove": {m: held[m] for m in request.get("remove_models", [])},
            "previous": {"budget": tenant.get("budget"), "cost_center": tenant.get("cost_center"),
                         "guardrail": _guardrail_name(tenant)},
            "budget": budget, "cost_center": request.get("cost_center", tenant.get("cost_center")),
            "guardrail": onboarding.check_guardrail(request["guardrail"]) if "guardrail" in request else _guardrail_name(tenant)}


# --- validation and rejection ---------------------------------------------------------------

def validate_request(event: dict) -> dict:
    """The request checked against its schema and against the tenant as it is now; the plan."""
    if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
        raise InvalidInput(f"$.detail-type: expected {DETAIL_TYPE!r}", field="$.detail-type")
    request = schemas.validate_detail(DETAIL_TYPE, event.get("detail"))
    if "data_residency" in request:
        raise InvalidInput("$.data_residency: a residency change would move every profile of the tenant to another "
                           "geography; offboard the tenant (hubctl tenants offboard) and onboard it again with the new "
                           "residency", field="$.data_residency")
    if not set(request) & (SETTINGS | {"add_models", "remove_models"}):
        raise InvalidInput("$: nothing to change: give add_models, remove_models, budget, cost_center or guardrail", field="$")
    try:
        tenant = registry.get_tenant(request["tenant_id"])
    except TenantNotFound:
        raise InvalidInput(f"$.tenant_id: no tenant {request['tenant_id']!r} in the registry (see hubctl tenants list)",
                           field="$.tenant_id") from None
    return {"request": request, "plan": _check(request, tenant)}


def event_id_of(event: dict, execution: str) -> str:
    """The id of the event that asked: EventBridge delivers an event more than once with the same id.
    An execution started without an event is its own request."""
    found = event.get("id") if isinstance(event, dict) else None
    return found if isinstance(found, str) and found else execution


@idempotent_step
def record_rejection(step: dict) -> dict:
    """Audit a rejected update (on the tenant's stream when the tenant exists) and return the
    WorkflowInputRejected detail."""
    return rejections.record_tenant_rejection(
        step, WORKFLOW, lambda tenant_id: registry.get_item(_key(tenant_id)) is not None)


# --- the update -------------------------------------------------------------------------------

EVENTS_KEPT = 50  # ids of the last events applied, per tenant: a redelivery comes within minutes


@idempotent_step
def take_lock(step: dict) -> dict:
    """The update marker on META (one update at a time), then the request checked again under it. An
    event already applied (a redelivery, even one that waited for the first) changes nothing."""
    request, execution, event_id = step["request"], step["context"]["execution"], step["event_id"]
    tenant_id = request["tenant_id"]
    try:
        registry.update_item(_key(tenant_id), {MARKER: {"execution": execution}},
                             condition="#status IN (:active, :suspended) AND (attribute_not_exists(#upd.execution) OR #upd.execution = :me)",
                             names={"#status": "status", "#upd": MARKER},
                             values={":active": "ACTIVE", ":suspended": "SUSPENDED", ":me": execution})
    except Exception as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        tenant = registry.get_tenant(tenant_id)
        if tenant.get("status") in UPDATABLE:  # another update holds it (or released it just now): try again
            holder = (tenant.get(MARKER) or {}).get("execution", "another update")
            raise TenantBusy(f"{tenant_id}: {holder} is running; this one waits") from None
        _check(request, tenant)  # names why (offboarded meanwhile, ...)
        raise
    tenant = registry.get_tenant(tenant_id)
    if event_id in (tenant.get("update_events") or []):
        registry.update_item(_key(tenant_id), {MARKER: None})
        return {"duplicate": True}
    try:
        plan = _check(request, tenant)
    except InvalidInput:
        registry.update_item(_key(tenant_id), {MARKER: None})  # released: nothing was changed
        raise
    registry.update_item(_key(tenant_id), {MARKER: {"execution": execution, "previous": plan["previous"], "added": [],
                                                    "remove": plan["remove"]}})
    return {**plan, "duplicate": False}


def _retag_cost_center(tenant_id: str, cost_center: str) -> int:
    arns = [p["profile_arn"] for p in registry.tenant_items(tenant_id, "PROFILE#")]
    for arn in arns:
        try:
            aws.client("bedrock", region=arn.split(":")[3]).tag_resource(
                resourceARN=arn, tags=[{"key": onboarding.TAG_COST_CENTER, "value": cost_center}])
        except Exception as exc:
            if aws.error_code(exc) != "ResourceNotFoundException":
                raise
    return len(arns)


@idempotent_step
def apply_settings(step: dict) -> dict:
    """Budget, thresholds, RED policy, cost centre and guardrail; the profiles' cost-centre tag follows, and a
    new guardrail revokes the tenant's live sessions (their session policy holds the old one): the next
    session, vended at once, carries the new guardrail."""
    request, plan = step["request"], step["plan"]
    tenant_id = request["tenant_id"]
    if not set(request) & SETTINGS:
        return {"changed": False}
    registry.update_item(_key(tenant_id), {"budget": plan["budget"], "cost_center": plan["cost_center"], "guardrail": plan["guardrail"]})
    retagged = _retag_cost_center(tenant_id, plan["cost_center"]) if "cost_center" in request else 0
    guardrail_changed = plan["guardrail"] != plan["previous"].get("guardrail")
    if guardrail_changed:
        access.revoke_sessions([tenant_id], f"update {step['context']['execution']}: guardrail {plan['guardrail']}")
    _audit(step, "ChangeTenantSettings", budget=plan["budget"], previous_budget=plan["previous"]["budget"],
           cost_center=plan["cost_center"], previous_cost_center=plan["previous"]["cost_center"], profiles_retagged=retagged,
           guardrail=plan["guardrail"], previous_guardrail=plan["previous"].get("guardrail"), sessions_revoked=guardrail_changed)
    return {"changed": True}


@idempotent_step
def add_models(step: dict) -> dict:
    """A profile and a grant per model, as at onboarding (residency, retirements); suspended when the tenant is."""
    request, plan, execution = step["request"], step["plan"], step["context"]["execution"]
    tenant_id = request["tenant_id"]
    if not plan["add_models"]:
        return {"added": []}
    tenant = registry.get_tenant(tenant_id)
    # Recorded before creating: a crash between the two leaves the compensation something to find.
    registry.update_item(_key(tenant_id), {MARKER: {**tenant[MARKER], "adding": plan["add_models"]}})
    profiles = onboarding.create_profiles(tenant, plan["add_models"], execution, "$.add_models")
    registry.put_items(onboarding.grant_items(tenant_id, profiles, execution))
    if tenant["status"] == "SUSPENDED":
        access._tag_profiles([p["profile_arn"] for p in profiles], access.SUSPENDED)
    registry.update_item(_key(tenant_id), {MARKER: {**tenant[MARKER], "adding": plan["add_models"], "added": profiles}})
    _audit(step, "AddModels", profiles=[{"model_id": p["model_id"], "source": p["source_profile_id"], "arn": p["profile_arn"]}
                                        for p in profiles])
    return {"added": profiles}


@idempotent_step
def remove_models(step: dict) -> dict:
    """Access revoked first, for every model given up; then each profile and grant deleted."""
    request, plan = step["request"], step["plan"]
    tenant_id, remove = request["tenant_id"], plan["remove"]
    if not remove:
        return {"removed": []}
    access._tag_profiles(sorted(h["profile_arn"] for h in remove.values() if h["profile_arn"]), access.REVOKED)
    if any(h["kind"] == "imported-model-grant" for h in remove.values()):
        access.revoke_sessions([tenant_id], f"update {step['context']['execution']}: models removed")
    registry.update_item(_key(tenant_id), {f"{MARKER}_revoked": sorted(remove)})
    for model, held in sorted(remove.items()):
        if held["profile_arn"]:
            try:
                aws.client("bedrock", region=held["profile_arn"].split(":")[3]).delete_inference_profile(
                    inferenceProfileIdentifier=held["profile_arn"])
            except Exception as exc:
                if aws.error_code(exc) != "ResourceNotFoundException":
                    raise
        registry.delete_items([{"pk": registry.tenant_pk(tenant_id), "sk": f"{kind}#{model}"} for kind in ("PROFILE", "GRANT")])
    _audit(step, "RemoveModels", models=sorted(remove), profiles=sorted(h["profile_arn"] for h in remove.values() if h["profile_arn"]))
    return {"removed": sorted(remove)}


@idempotent_step
def finish(step: dict) -> dict:
    """The marker released; the TenantUpdated detail."""
    request, plan, execution = step["request"], step["plan"], step["context"]["execution"]
    tenant_id = request["tenant_id"]
    seen = (registry.get_tenant(tenant_id).get("update_events") or [])[-(EVENTS_KEPT - 1):]
    registry.update_item(_key(tenant_id), {MARKER: None, f"{MARKER}_revoked": None, "updated_by": request["requested_by"],
                                           "update_events": [*seen, step["event_id"]]},
                         condition="#upd.execution = :me", names={"#upd": MARKER}, values={":me": execution})
    changes = {"added": step["added"]["added"], "removed": step["removed"]["removed"]}
    if "budget" in request:
        changes["budget"] = plan["budget"]
    if "cost_center" in request:
        changes["cost_center"] = plan["cost_center"]
    if "guardrail" in request:
        changes["guardrail"] = plan["guardrail"]
    _audit(step, "UpdateTenant", reason=request.get("reason", ""), added=[p["model_id"] for p in changes["added"]],
           removed=changes["removed"], budget=changes.get("budget"), cost_center=changes.get("cost_center"),
           guardrail=changes.get("guardrail"))
    return {"tenant_id": tenant_id, "changes": changes, "requested_by": request["requested_by"], "execution": execution}


# --- when it fails ----------------------------------------------------------------------------

def _delete_profile(arn: str) -> None:
    try:
        aws.client("bedrock", region=arn.split(":")[3]).delete_inference_profile(inferenceProfileIdentifier=arn)
    except Exception as exc:
        if aws.error_code(exc) != "ResourceNotFoundException":
            raise


@idempotent_step
def undo(step: dict) -> dict:
    """The tenant as it was before this update, as far as it can be; the marker released. Tolerates an
    update that never took the marker (it changed nothing)."""
    request, execution = step["request"], step["context"]["execution"]
    tenant_id = request["tenant_id"]
    name, message = caught(step["error"])
    tenant = registry.get_tenant(tenant_id)
    marker = tenant.get(MARKER) or {}
    if marker.get("execution") != execution:
        _audit(step, "UndoTenantUpdate", outcome="FAILED", error=name, reason=message, changed="nothing")
        return {"tenant_id": tenant_id, "error": name, "reason": message, "not_restored": [], "execution": execution}
    state = "suspended" if tenant.get("status") == "SUSPENDED" else access.GRANTED
    # Profiles this update created (or may have created before a crash), and their grants.
    added = {p["model_id"]: p["profile_arn"] for p in marker.get("added", [])}
    for model in marker.get("adding", []):
        added.setdefault(model, None)
    recorded = {p["model_id"]: p["profile_arn"] for p in registry.tenant_items(tenant_id, "PROFILE#") if p["model_id"] in added}
    for model, arn in {**added, **recorded}.items():
        arn = arn or recorded.get(model)
        if arn:
            _delete_profile(arn)
        registry.delete_items([{"pk": registry.tenant_pk(tenant_id), "sk": f"{kind}#{model}"} for kind in ("PROFILE", "GRANT")])
    # Removed models granted again: retagged where the profile is still there, recreated (a new profile
    # of the same model, name and residency) where the removal had already deleted it.
    held, recreated, not_restored = _held(tenant_id), [], []
    for model in tenant.get(f"{MARKER}_revoked") or []:
        removed = (marker.get("remove") or {}).get(model) or {}
        if model in held and held[model]["profile_arn"]:
            access._tag_profiles([held[model]["profile_arn"]], state)
        elif model not in held and removed.get("profile_arn"):
            profiles = onboarding.create_profiles(tenant, [model], f"{execution}#undo", "$.remove_models")
            registry.put_items(onboarding.grant_items(tenant_id, profiles, execution))
            access._tag_profiles([p["profile_arn"] for p in profiles], state)
            recreated.append(model)
        elif model not in held and removed.get("invoke_arn"):  # an imported model: its grant again
            registry.put_items([{"pk": registry.tenant_pk(tenant_id), "sk": f"GRANT#{model}", "kind": "imported-model-grant",
                                 "gsi1pk": f"MODEL#{model}", "gsi1sk": registry.tenant_pk(tenant_id), "tenant_id": tenant_id,
                                 "model_id": model, "invoke_arn": removed["invoke_arn"], "region": removed["invoke_arn"].split(":")[3],
                                 "granted_at": registry.now(), "execution": execution}])
            recreated.append(model)
        elif model not in held:
            not_restored.append(model)
    previous = marker.get("previous") or {}
    fields = {MARKER: None, f"{MARKER}_revoked": None}
    if previous.get("budget") is not None:
        fields["budget"] = previous["budget"]
    if previous.get("cost_center") and previous["cost_center"] != tenant.get("cost_center"):
        fields["cost_center"] = previous["cost_center"]
        _retag_cost_center(tenant_id, previous["cost_center"])
    if previous.get("guardrail") and previous["guardrail"] != _guardrail_name(tenant):
        fields["guardrail"] = previous["guardrail"]
        access.revoke_sessions([tenant_id], f"update {execution} undone: guardrail {previous['guardrail']} again")
    registry.update_item(_key(tenant_id), fields)
    _audit(step, "UndoTenantUpdate", outcome="COMPENSATED", error=name, reason=message,
           deleted_profiles=sorted(m for m in added), recreated=recreated, not_restored=not_restored)
    return {"tenant_id": tenant_id, "error": name, "reason": message, "not_restored": not_restored, "execution": execution}
