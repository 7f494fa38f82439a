"""Tenant onboarding: the logic of each step of statemachines/onboarding.asl.json.

Each step takes the state machine's step input (`tenant` from validation, `context` with the
execution id and state name, earlier results) and returns data for the next state. Steps that
change something are idempotent on their input and write one audit record; each creating step
has a compensation below that tolerates "nothing to undo".
"""
import hashlib
import re

from genai_hub import access, audit, aws, config, registry, rejections, residency, retirement, schemas
from genai_hub.errors import InvalidInput, ModelRetiring, TenantNotFound, caught
from genai_hub.idempotency import idempotent_step

WORKFLOW = "tenant-onboarding"
DETAIL_TYPE = "TenantOnboardingRequested"
TAG_TENANT, TAG_ACCESS = access.TAG_TENANT, access.TAG_ACCESS  # what the tenant access role's conditions read
TAG_COST_CENTER, TAG_MODEL, TAG_MANAGED = "genai-hub:cost-center", "genai-hub:model-id", "genai-hub:managed-by"


# --- validation and rejection ---------------------------------------------------------------

def validate_request(event: dict) -> dict:
    """The event's detail, checked against its schema and with defaults filled in."""
    if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
        raise InvalidInput(f"$.detail-type: expected {DETAIL_TYPE!r}", field="$.detail-type")
    tenant = schemas.validate_detail(DETAIL_TYPE, event.get("detail"))
    thresholds = {**config.default_budget_thresholds(), **tenant["budget"].get("thresholds", {})}
    if thresholds["yellow"] > thresholds["orange"]:
        raise InvalidInput("$.budget.thresholds: yellow must not be above orange", field="$.budget.thresholds")
    tenant["budget"]["thresholds"] = thresholds
    for index, pattern in enumerate(tenant["spoke"].get("principals", [])):
        if pattern.split(":")[4] != tenant["spoke"]["account_id"]:
            raise InvalidInput(f"$.spoke.principals[{index}]: {pattern} is not in the spoke account "
                               f"{tenant['spoke']['account_id']}; name principals of that account only", field=f"$.spoke.principals[{index}]")
    return tenant


def validate_in_hub(event: dict) -> dict:
    """validate_request, then what only the deployed hub knows: its guardrails (the default filled in)."""
    tenant = validate_request(event)
    tenant["guardrail"] = check_guardrail(tenant.get("guardrail") or config.default_guardrail())
    return tenant


def check_guardrail(name: str) -> str:
    """`name` if it is one of the hub's guardrails, else InvalidInput naming $.guardrail and the choices."""
    known = config.guardrails()
    if name not in known:
        raise InvalidInput(f"$.guardrail: no guardrail {name!r} in this hub; choose one of {', '.join(sorted(known))} "
                           "(template.yaml StandardGuardrail, StrictGuardrail)", field="$.guardrail")
    return name


@idempotent_step
def record_rejection(step: dict) -> dict:
    """Audit a rejected onboarding event and return the WorkflowInputRejected detail."""
    return rejections.record_tenant_rejection(step, WORKFLOW)


# --- creating steps ---------------------------------------------------------------------------

def _audit(tenant: dict, step: dict, action: str, outcome: str = "SUCCEEDED", **detail) -> None:
    audit.append(
        audit.tenant_stream(tenant["tenant_id"]), action=action, outcome=outcome, workflow=WORKFLOW,
        execution=step["context"]["execution"], actor=tenant["requested_by"], detail=detail,
    )


@idempotent_step
def register_tenant(step: dict) -> dict:
    tenant = step["tenant"]
    earlier = registry.get_item({"pk": registry.tenant_pk(tenant["tenant_id"]), "sk": "META"}) or {}
    chapters = list(earlier.get("chapters") or [])
    if earlier.get("status") == "OFFBOARDED":  # a new chapter of the same tenant id: the last one's tombstone stays
        chapters.append({k: earlier.get(k) for k in ("created_at", "offboarded_at", "offboarded_by", "offboarded_reason", "tombstone")})
    registry.put_tenant_pending(tenant, step["context"]["execution"], chapters)
    _audit(tenant, step, "RegisterTenant", status="PENDING", residency=tenant["data_residency"],
           cost_center=tenant["cost_center"], spoke_account_id=tenant["spoke"]["account_id"], guardrail=tenant["guardrail"],
           **({"chapter": len(chapters) + 1} if chapters else {}))
    return {"status": "PENDING"}


def profile_name(tenant_id: str, model_id: str) -> str:
    """A valid, deterministic application-profile name ([0-9a-zA-Z][ _-]?)+, at most 64 characters."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "-", f"{tenant_id}-{model_id}").strip("-")
    if len(slug) > 64:
        digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
        slug = slug[:55].rstrip("-") + "-" + digest
    return slug


def _bedrock(region: str):
    return aws.client("bedrock", region=region)


def _system_profile_ids(bedrock) -> set[str]:
    ids, kwargs = set(), {"typeEquals": "SYSTEM_DEFINED", "maxResults": 1000}
    while True:
        page = bedrock.list_inference_profiles(**kwargs)
        ids.update(p["inferenceProfileId"] for p in page.get("inferenceProfileSummaries", []))
        if not page.get("nextToken"):
            return ids
        kwargs["nextToken"] = page["nextToken"]


def _application_profiles_named(bedrock, names: set[str]) -> dict[str, dict]:
    """Application profiles of this account and Region among `names`, by name. Bedrock finds profiles
    by id or ARN only, so this lists them all: kept for the rare paths (a name conflict, compensation),
    never run per onboarding (listing on every onboarding made onboarding N tenants O(N^2))."""
    found, kwargs = {}, {"typeEquals": "APPLICATION", "maxResults": 1000}
    while True:
        page = bedrock.list_inference_profiles(**kwargs)
        for summary in page.get("inferenceProfileSummaries", []):
            if summary["inferenceProfileName"] in names:
                found[summary["inferenceProfileName"]] = summary
        if not page.get("nextToken"):
            return found
        kwargs["nextToken"] = page["nextToken"]


def _create_profile(bedrock, tenant: dict, model: str, source_id: str, execution: str) -> str:
    """Create the tenant's profile for `model`, or find the one an earlier attempt created: a retry of
    this step sends the same clientRequestToken (Bedrock answers with the same profile); an earlier
    execution for this tenant had another token, so its profile's name conflicts and is looked up."""
    name = profile_name(tenant["tenant_id"], model)
    source_arn = bedrock.get_inference_profile(inferenceProfileIdentifier=source_id)["inferenceProfileArn"]
    try:
        return bedrock.create_inference_profile(
            inferenceProfileName=name,
            description=f"GenAI Hub tenant {tenant['tenant_id']}: {model}",
            clientRequestToken=hashlib.sha256(f"{execution}|{name}".encode()).hexdigest()[:64],
            modelSource={"copyFrom": source_arn},
            tags=[
                {"key": TAG_TENANT, "value": tenant["tenant_id"]},
                {"key": TAG_COST_CENTER, "value": tenant["cost_center"]},
                {"key": TAG_MODEL, "value": model},
                {"key": TAG_MANAGED, "value": "genai-hub"},
                {"key": TAG_ACCESS, "value": access.GRANTED},
            ],
        )["inferenceProfileArn"]
    except Exception as exc:
        if aws.error_code(exc) != "ConflictException":
            raise
        existing = _application_profiles_named(bedrock, {name}).get(name)
        if existing is None:  # the conflict was not the name: nothing of ours to reuse
            raise
        return existing["inferenceProfileArn"]


def create_profiles(tenant: dict, models: list[str], execution: str, field: str) -> list[dict]:
    """One application inference profile per model, copied from a profile within the tenant's residency,
    recorded as PROFILE# items. A model retired or retiring for the tenant, or without a residency-safe
    profile, creates nothing at all (`field`: the request's list, named in the error)."""
    region = residency.home_region(tenant["data_residency"])
    bedrock = _bedrock(region)
    system_ids = _system_profile_ids(bedrock)
    for index, model in enumerate(models):
        retired = retirement.blocking(model, tenant["tenant_id"])
        if retired:
            raise ModelRetiring(f"{field}[{index}]: {model} is {'retired' if retired['status'] == 'COMPLETED' else 'retiring'} "
                                f"for this tenant" + (f"; ask for its successor {retired['successor']}" if retired.get("successor") else ""))
    sources = {
        model: residency.choose_source_profile(model, tenant["data_residency"], tenant["allow_global_inference"], system_ids)
        for model in models
    }
    profiles = []
    for model, source_id in sources.items():
        residency.assert_within_residency(source_id, tenant["data_residency"], tenant["allow_global_inference"])
        arn = _create_profile(bedrock, tenant, model, source_id, execution)
        profiles.append({"model_id": model, "profile_arn": arn, "source_profile_id": source_id, "region": region})
    registry.put_items([
        {"pk": registry.tenant_pk(tenant["tenant_id"]), "sk": f"PROFILE#{p['model_id']}", "kind": "profile", **p}
        for p in profiles
    ])
    return profiles


def grant_items(tenant_id: str, profiles: list[dict], execution: str) -> list[dict]:
    """Allowlist grants tenant x model x profile, queryable from either side (the ByModel index)."""
    granted_at = registry.now()
    return [{"pk": registry.tenant_pk(tenant_id), "sk": f"GRANT#{p['model_id']}", "kind": "grant",
             "gsi1pk": f"MODEL#{p['model_id']}", "gsi1sk": registry.tenant_pk(tenant_id), "tenant_id": tenant_id,
             "model_id": p["model_id"], "profile_arn": p["profile_arn"], "granted_at": granted_at, "execution": execution}
            for p in profiles]


@idempotent_step
def create_tenant_profiles(step: dict) -> dict:
    """One application inference profile per default model, copied from a residency-safe profile."""
    tenant = step["tenant"]
    profiles = create_profiles(tenant, tenant["default_models"], step["context"]["execution"], "$.default_models")
    _audit(tenant, step, "CreateInferenceProfiles", profiles=[
        {"model_id": p["model_id"], "source": p["source_profile_id"], "arn": p["profile_arn"]} for p in profiles
    ])
    return {"profiles": profiles, "region": residency.home_region(tenant["data_residency"])}


@idempotent_step
def open_tenant_access(step: dict) -> dict:
    """Record who may get the tenant's credentials from the broker (genai_hub.access.vend): principals
    of its spoke account. Nothing is created in the spoke: access is enforced in the hub."""
    tenant = step["tenant"]
    opened = {"credentials_url": config.credentials_url(), "role_arn": config.tenant_access_role_arn(),
              "principals": tenant["spoke"].get("principals") or [f"any principal of account {tenant['spoke']['account_id']}"]}
    registry.update_tenant(tenant["tenant_id"], {"access": opened, "access_principals": tenant["spoke"].get("principals", [])})
    _audit(tenant, step, "OpenTenantAccess", account_id=tenant["spoke"]["account_id"], principals=opened["principals"])
    return opened


@idempotent_step
def grant_default_models(step: dict) -> dict:
    """Allowlist grants tenant x model x profile, queryable from either side."""
    tenant = step["tenant"]
    grants = grant_items(tenant["tenant_id"], step["profiles"]["profiles"], step["context"]["execution"])
    registry.put_items(grants)
    _audit(tenant, step, "GrantModels", models=[g["model_id"] for g in grants])
    return {"models": [g["model_id"] for g in grants]}


@idempotent_step
def store_budget(step: dict) -> dict:
    tenant = step["tenant"]
    budget = tenant["budget"]
    registry.update_tenant(tenant["tenant_id"], {"budget": {
        "monthly_limit_usd": str(budget["monthly_limit_usd"]),
        "thresholds": {k: str(v) for k, v in budget["thresholds"].items()},
        "on_red": budget["on_red"],
    }, "budget_level": "GREEN"})
    _audit(tenant, step, "StoreBudget", monthly_limit_usd=budget["monthly_limit_usd"], thresholds=budget["thresholds"], on_red=budget["on_red"])
    return {"monthly_limit_usd": budget["monthly_limit_usd"]}


@idempotent_step
def activate_tenant(step: dict) -> dict:
    """PENDING -> ACTIVE; returns the TenantOnboarded detail."""
    tenant = step["tenant"]
    registry.update_tenant(tenant["tenant_id"], {"status": "ACTIVE", "activated_at": registry.now()}, expect_status="PENDING")
    _audit(tenant, step, "ActivateTenant", status="ACTIVE")
    return {
        "tenant_id": tenant["tenant_id"], "data_residency": tenant["data_residency"],
        "profiles": step["profiles"]["profiles"], "access": step["access"],
        "execution": step["context"]["execution"],
    }


# --- compensations (reverse order), each tolerating "nothing to undo" ---------------------------

@idempotent_step
def revoke_tenant_grants(step: dict) -> dict:
    tenant = step["tenant"]
    grants = registry.tenant_items(tenant["tenant_id"], "GRANT#")
    registry.delete_items([{"pk": g["pk"], "sk": g["sk"]} for g in grants])
    if grants:
        _audit(tenant, step, "RevokeGrants", outcome="COMPENSATED", models=[g["model_id"] for g in grants])
    return {"revoked": len(grants)}


@idempotent_step
def close_tenant_access(step: dict) -> dict:
    """Compensation of open_tenant_access: no principal may get credentials any more, and any session
    (there should be none: the broker vends to ACTIVE tenants only) is revoked."""
    tenant = step["tenant"]
    try:
        opened = registry.get_tenant(tenant["tenant_id"]).get("access")
    except TenantNotFound:
        return {"closed": False}
    if not opened:
        return {"closed": False}
    registry.update_tenant(tenant["tenant_id"], {"access": None, "access_principals": []})
    access.revoke_sessions([tenant["tenant_id"]], "onboarding compensated")
    _audit(tenant, step, "CloseTenantAccess", outcome="COMPENSATED", account_id=tenant["spoke"]["account_id"])
    return {"closed": True}


@idempotent_step
def delete_tenant_profiles(step: dict) -> dict:
    """Delete the tenant's profiles: those recorded in the registry and any found by name in Bedrock
    (a profile created just before a crash may not have been recorded)."""
    tenant = step["tenant"]
    region = residency.home_region(tenant["data_residency"])
    bedrock = _bedrock(region)
    recorded = registry.tenant_items(tenant["tenant_id"], "PROFILE#")
    names = {profile_name(tenant["tenant_id"], m) for m in tenant["default_models"]}
    arns = {p["profile_arn"] for p in recorded}
    arns |= {s["inferenceProfileArn"] for s in _application_profiles_named(bedrock, names).values()}
    for arn in sorted(arns):
        try:
            bedrock.delete_inference_profile(inferenceProfileIdentifier=arn)
        except Exception as exc:
            if aws.error_code(exc) != "ResourceNotFoundException":
                raise
    registry.delete_items([{"pk": p["pk"], "sk": p["sk"]} for p in recorded])
    if arns:
        _audit(tenant, step, "DeleteInferenceProfiles", outcome="COMPENSATED", profiles=sorted(arns))
    return {"deleted": len(arns)}


@idempotent_step
def mark_tenant_failed(step: dict) -> dict:
    """FAILED with the reason, lock released; returns the TenantOnboardingFailed detail."""
    tenant, execution = step["tenant"], step["context"]["execution"]
    name, message = caught(step["error"])
    compensated = not step.get("compensation_failed", False)
    reason = message if compensated else f"{message} (compensation incomplete: {step.get('compensation_error', {}).get('Error', 'unknown')})"
    try:
        registry.update_tenant(tenant["tenant_id"], {"status": "FAILED", "failure_reason": reason, "failure_error": name})
    except Exception as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        registry.put_tenant_pending(tenant, execution)  # failed before registration: record it
        registry.update_tenant(tenant["tenant_id"], {"status": "FAILED", "failure_reason": reason, "failure_error": name})
    registry.release_lock(tenant["tenant_id"], execution)
    _audit(tenant, step, "FailOnboarding", outcome="FAILED", error=name, reason=reason, compensated=compensated)
    return {"tenant_id": tenant["tenant_id"], "error": name, "reason": reason, "compensated": compensated, "execution": execution}
