"""A tenant's model access, enforced in the hub account: one shared role, vended sessions, ABAC.

Bedrock has no resource-based policies for application inference profiles or imported models
("How Amazon Bedrock works with IAM", https://docs.aws.amazon.com/bedrock/latest/userguide/security_iam_service-with-iam.html),
so a principal of a tenant's own account can never invoke them (IAM's cross-account rule,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
The principal that invokes for a tenant therefore lives in the hub:

- ONE role, `<stack>-tenant-access` (template.yaml `TenantAccessRole`), trusted only by the
  credential broker's execution role. Its managed policy allows a tenant's session what the tags say:
  application inference profiles tagged `genai-hub:tenant-id` = the session's own tag and
  `genai-hub:access` = `granted` (ABAC: https://docs.aws.amazon.com/IAM/latest/UserGuide/introduction_attribute-based-access-control.html),
  the foundation models behind them only through a hub profile (`bedrock:InferenceProfileArn`), and
  the hub's imported models, narrowed by the session policy.
- The broker (`vend`, behind an IAM-authorised Lambda function URL) reads the caller's identity as
  AWS verified it, finds the tenant it belongs to, and calls AssumeRole with the session tag
  `genai-hub:tenant-id` and a session policy listing the tenant's granted imported models
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session). The
  tenant cannot choose its tags or its policy: the hub does.
- Suspension and revocation bite on the next call, also for sessions vended before: profiles are
  retagged (`suspended` / `revoked`: tags are read at request time), and sessions of the tenant issued
  before the change are denied by the role's inline policy `genai-hub-revoked-sessions`
  (`aws:TokenIssueTime`, as IAM's own "revoke active sessions" does:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html). An entry is
  needed only while a session issued before it can live (SESSION_SECONDS), so the policy stays small.

Quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): one role for
every tenant (10,000 tenants: 1 role of the 1,000 default); the session policy is at most 2,048
characters (`session_policy` refuses more, naming the count of imported models); the inline policy
of revocations at most 10,240 characters: when the live entries do not fit, they collapse into one
statement that denies every tenant's sessions issued before the newest entry (every client simply
gets new credentials), so the quota can never be hit.
"""
import json
from datetime import datetime, timedelta, timezone

from genai_hub import aws, config, registry
from genai_hub.errors import HubError, TenantNotFound

INVOKE_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]  # Converse* authorise as these
TAG_TENANT, TAG_ACCESS = "genai-hub:tenant-id", "genai-hub:access"
GRANTED, SUSPENDED, REVOKED = "granted", "suspended", "revoked"
# AssumeRole's minimum: the shortest life a vended session can have, so the shortest time a
# revocation entry must be kept.
SESSION_SECONDS = 900
REVOCATION_POLICY = "genai-hub-revoked-sessions"
REVOCATIONS_PK = "ACCESS#REVOCATIONS"
SESSION_POLICY_LIMIT, INLINE_POLICY_LIMIT = 2048, 10240
# Clock skew between the hub and STS: an entry outlives the sessions it targets by this much.
SKEW = timedelta(seconds=60)


class AccessNotGranted(HubError):
    """The caller is not a principal the tenant's registration allows."""


class TenantSuspended(HubError):
    """The tenant's access is suspended (budget RED); restored by the budget run that brings it back."""


class TenantNotActive(HubError):
    """The tenant is not ACTIVE (onboarding not finished, failed or offboarded)."""


class SessionPolicyTooLarge(HubError):
    """The tenant holds more imported models than one session policy can name."""


def _compact(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- who may act as a tenant --------------------------------------------------------------------

def principal_allowed(tenant: dict, caller_arn: str, caller_account: str) -> bool:
    """A principal of the tenant's spoke account, and one of its `principals` patterns when it set
    some (tenants sharing an account must). Patterns use IAM's wildcards (* and ?)."""
    from fnmatch import fnmatchcase

    if caller_account != tenant.get("spoke_account_id"):
        return False
    patterns = tenant.get("access_principals") or []
    return not patterns or any(fnmatchcase(caller_arn, p) for p in patterns)


def granted_models(tenant_id: str) -> dict:
    """{"profiles": {model: profile ARN}, "imported_models": {model: ARN}} the tenant may call now."""
    items = registry.tenant_items(tenant_id, "")
    revoked = {i["model_id"] for i in items if i.get("sk", "").startswith("GRANT#") and i.get("revoked_at")}
    profiles = {i["model_id"]: i["profile_arn"] for i in items if i.get("kind") == "profile" and i["model_id"] not in revoked}
    imported = {i["model_id"]: i["invoke_arn"] for i in items
                if i.get("kind") == "imported-model-grant" and i["model_id"] not in revoked}
    return {"profiles": profiles, "imported_models": imported}


class GuardrailUnknown(HubError):
    """The tenant's guardrail is not one of the hub's (template.yaml HUB_GUARDRAILS)."""


def guardrail_of(tenant: dict) -> dict:
    """The guardrail every call of the tenant must carry: {name, guardrailIdentifier (ARN), guardrailVersion}.
    A tenant registered before guardrails existed gets the hub's default."""
    name = tenant.get("guardrail") or config.default_guardrail()
    known = config.guardrails()
    if name not in known:
        raise GuardrailUnknown(f"tenant {tenant.get('tenant_id')}: guardrail {name!r} is not one of the hub's "
                               f"({', '.join(sorted(known))}); update the tenant with one of them")
    arn, version = known[name].rsplit(":", 1)
    return {"name": name, "guardrailIdentifier": arn, "guardrailVersion": version}


def session_policy(hub_account: str, imported_arns: list[str], partition: str = "aws", guardrail: dict | None = None) -> dict:
    """The session policy of a tenant's vended session. Profiles are narrowed by the role's tag
    conditions (ABAC), so only imported models, shared by tenants, are named one by one. The role lets
    a call through with any of the hub's guardrails; the session is held to the tenant's own
    (`bedrock:GuardrailIdentifier` is `<guardrail ARN>:<version>`, https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-permissions-id.html;
    a negated operator matches a call that names no guardrail at all:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    statements = [
        {"Sid": "OwnProfiles", "Effect": "Allow", "Action": INVOKE_ACTIONS,
         "Resource": f"arn:{partition}:bedrock:*:{hub_account}:application-inference-profile/*"},
        {"Sid": "ModelsBehindProfiles", "Effect": "Allow", "Action": INVOKE_ACTIONS,
         "Resource": f"arn:{partition}:bedrock:*::foundation-model/*"},
    ]
    if imported_arns:
        statements.append({"Sid": "GrantedImportedModels", "Effect": "Allow", "Action": INVOKE_ACTIONS,
                           "Resource": sorted(imported_arns)})
    if guardrail:
        statements.append({"Sid": "ApplyOwnGuardrail", "Effect": "Allow", "Action": "bedrock:ApplyGuardrail",
                           "Resource": guardrail["guardrailIdentifier"]})
        statements.append({"Sid": "OnlyWithOwnGuardrail", "Effect": "Deny", "Action": INVOKE_ACTIONS, "Resource": "*",
                           "Condition": {"StringNotEquals": {
                               "bedrock:GuardrailIdentifier": f"{guardrail['guardrailIdentifier']}:{guardrail['guardrailVersion']}"}}})
    document = {"Version": "2012-10-17", "Statement": statements}
    if len(_compact(document)) > SESSION_POLICY_LIMIT:
        raise SessionPolicyTooLarge(
            f"{len(imported_arns)} imported models do not fit in one session policy ({SESSION_POLICY_LIMIT} "
            "characters, an STS quota): revoke grants the tenant no longer needs")
    return document


def session_name(tenant_id: str, caller_account: str) -> str:
    """Bedrock's invocation logs and CloudTrail record it: the tenant and the account it called from."""
    return f"{tenant_id}@{caller_account}"[:64]


def _wait_out_revocation(tenant_id: str) -> None:
    """IAM compares aws:TokenIssueTime in whole seconds, so a revocation denies sessions issued until the
    next second: a session vended within that second (a client renewing at once after a restore) would be
    born revoked. Wait it out (at most a second)."""
    import time

    entry = registry.get_item({"pk": REVOCATIONS_PK, "sk": tenant_id})
    if entry:
        ahead = (datetime.fromisoformat(entry["revoked_before"].replace("Z", "+00:00")) - _now()).total_seconds()
        if 0 < ahead <= 2:
            time.sleep(ahead)


def vend(tenant_id: str, caller: dict) -> dict:
    """Short-lived credentials for `tenant_id`, for a caller AWS authenticated (`caller`: the function
    URL's requestContext.authorizer.iam: userArn, accountId). Raises a named error on refusal."""
    try:
        tenant = registry.get_tenant(tenant_id)
    except TenantNotFound:
        raise AccessNotGranted(f"{caller.get('userArn')} may not act as tenant {tenant_id}") from None
    if not principal_allowed(tenant, caller.get("userArn", ""), caller.get("accountId", "")):
        raise AccessNotGranted(f"{caller.get('userArn')} may not act as tenant {tenant_id}: only principals of its spoke "
                               f"account{' matching its registered principals' if tenant.get('access_principals') else ''} may")
    if tenant.get("status") == "SUSPENDED":
        raise TenantSuspended(f"tenant {tenant_id} is suspended: its budget is exhausted ({tenant.get('budget_level', 'RED')}); "
                              "access is restored by the budget run after the limit is raised or the month ends")
    if tenant.get("status") != "ACTIVE":
        raise TenantNotActive(f"tenant {tenant_id} is {tenant.get('status')}, not ACTIVE")
    models = granted_models(tenant_id)
    guardrail = guardrail_of(tenant)
    _wait_out_revocation(tenant_id)
    role_arn = config.tenant_access_role_arn()
    partition, hub_account = role_arn.split(":")[1], role_arn.split(":")[4]
    policy = session_policy(hub_account, list(models["imported_models"].values()), partition, guardrail)
    credentials = aws.client("sts").assume_role(
        RoleArn=role_arn, RoleSessionName=session_name(tenant_id, caller["accountId"]), DurationSeconds=SESSION_SECONDS,
        Policy=_compact(policy), Tags=[{"Key": TAG_TENANT, "Value": tenant_id}],
    )["Credentials"]
    expiration = credentials["Expiration"]
    return {
        "Version": 1, "AccessKeyId": credentials["AccessKeyId"], "SecretAccessKey": credentials["SecretAccessKey"],
        "SessionToken": credentials["SessionToken"],
        "Expiration": _iso(expiration) if isinstance(expiration, datetime) else str(expiration),
        "TenantId": tenant_id, "Region": config.region(), **models,
        # What every call must pass as guardrailConfig (Converse) or the guardrail headers (InvokeModel).
        "Guardrail": guardrail,
    }


# --- suspension and revocation --------------------------------------------------------------------

def _tag_profiles(profile_arns: list[str], value: str) -> None:
    """Retag profiles: the role's condition reads the tag on every call, so this bites at once."""
    for arn in profile_arns:
        try:
            aws.client("bedrock", region=arn.split(":")[3]).tag_resource(
                resourceARN=arn, tags=[{"key": TAG_ACCESS, "value": value}])
        except Exception as exc:
            if aws.error_code(exc) != "ResourceNotFoundException":  # deleted meanwhile: nothing to tag
                raise


def revocation_policy(entries: list[dict], partition: str = "aws") -> dict | None:
    """The Deny of sessions issued before each entry's time, one statement per time; when that does
    not fit IAM's inline quota, one statement for every tenant before the newest time."""
    if not entries:
        return None
    by_time: dict[str, list[str]] = {}
    for entry in entries:
        by_time.setdefault(entry["revoked_before"], []).append(entry["tenant_id"])
    statements = [
        {"Sid": f"Revoked{number}", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
         "Condition": {"StringEquals": {f"aws:PrincipalTag/{TAG_TENANT}": sorted(tenants)},
                       "DateLessThan": {"aws:TokenIssueTime": before}}}
        for number, (before, tenants) in enumerate(sorted(by_time.items()))
    ]
    document = {"Version": "2012-10-17", "Statement": statements}
    if len(_compact(document)) <= INLINE_POLICY_LIMIT:
        return document
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "RevokedEveryone", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
         "Condition": {"DateLessThan": {"aws:TokenIssueTime": max(by_time)}}}]}


def _live_entries() -> list[dict]:
    """Revocation entries still needed; expired ones are deleted on the way."""
    cutoff = _iso(_now() - timedelta(seconds=SESSION_SECONDS) - SKEW)
    entries = registry.partition_items(REVOCATIONS_PK)
    expired = [e for e in entries if e["revoked_before"] < cutoff]
    if expired:
        registry.delete_items([{"pk": e["pk"], "sk": e["sk"]} for e in expired])
    return [e for e in entries if e["revoked_before"] >= cutoff]


def _write_revocation_policy() -> dict:
    """Write the role's revocation policy from the registry. Writers race (a budget run and a
    retirement at once): each re-reads after its write and writes again until what it wrote is what
    the registry holds, so the last write always includes every entry."""
    iam = aws.client("iam")
    role_name = config.tenant_access_role_arn().rsplit("/", 1)[-1]
    written = None
    for _ in range(5):
        entries = _live_entries()
        key = sorted((e["tenant_id"], e["revoked_before"]) for e in entries)
        if key == written:
            break
        document = revocation_policy(entries)
        if document is None:
            try:
                iam.delete_role_policy(RoleName=role_name, PolicyName=REVOCATION_POLICY)
            except Exception as exc:
                if aws.error_code(exc) != "NoSuchEntity":
                    raise
        else:
            iam.put_role_policy(RoleName=role_name, PolicyName=REVOCATION_POLICY, PolicyDocument=_compact(document))
        written = key
    return {"entries": len(written or [])}


def revoke_sessions(tenant_ids: list[str], reason: str) -> dict:
    """Deny the tenants' sessions issued until now (they get new credentials, scoped to what they
    hold then). The time is rounded up to the next second: IAM compares whole seconds."""
    if not tenant_ids:
        return {"entries": 0}
    before = _iso((_now() + timedelta(seconds=1)).replace(microsecond=0))
    registry.put_items([{"pk": REVOCATIONS_PK, "sk": t, "kind": "session-revocation", "tenant_id": t,
                         "revoked_before": before, "reason": reason[:256]} for t in sorted(set(tenant_ids))])
    return _write_revocation_policy()


def set_suspended(tenant: dict, suspended: bool) -> None:
    """Suspend (budget RED) or restore the tenant's access; safe to repeat. Suspending retags its
    profiles and revokes its sessions; restoring retags them (new sessions are vended again)."""
    tenant_id = tenant["tenant_id"]
    profiles = granted_models(tenant_id)["profiles"]
    _tag_profiles(sorted(profiles.values()), SUSPENDED if suspended else GRANTED)
    if suspended:
        revoke_sessions([tenant_id], "budget suspension")


def revoke_model(tenant_ids: list[str], model_id: str, kind: str, reason: str) -> dict:
    """Revoke one model from tenants: their profile of it is retagged `revoked` (foundation models),
    and their sessions are revoked (imported models, which sessions name)."""
    if kind == "imported":
        return revoke_sessions(tenant_ids, reason)
    arns = [i["profile_arn"] for t in tenant_ids for i in registry.tenant_items(t, f"PROFILE#{model_id}")]
    _tag_profiles(arns, REVOKED)
    return {"profiles": len(arns)}
