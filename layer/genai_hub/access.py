"""A tenant's model access in its spoke account: the invoke role's policies, written from the registry.

The registry is the one source of truth: the tenant's PROFILE# items (application inference
profiles of foundation models) and its imported-model grants. Promotion adds to them, retirement
takes away; both call `sync_invoke_role`, which rewrites the role's two inline policies to match,
and deletes a policy that would be empty (IAM rejects a statement without resources).
"""
import json

from genai_hub import aws, config, registry
from genai_hub.errors import SpokeAccessDenied

INVOKE_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:Converse", "bedrock:ConverseStream"]
PROFILES_POLICY, IMPORTED_POLICY = "genai-hub-invoke", "genai-hub-imported-models"
SUSPENSION_POLICY = "genai-hub-budget-suspension"


def spoke_credentials(spoke: dict, session: str) -> dict:
    """Assume the spoke's provisioning role; `spoke` is {"account_id", "external_id"}."""
    role_arn = f"arn:aws:iam::{spoke['account_id']}:role/{config.provisioning_role_name()}"
    try:
        return aws.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session[:64], ExternalId=spoke["external_id"], DurationSeconds=900,
        )["Credentials"]
    except Exception as exc:
        if aws.error_code(exc) in ("AccessDenied", "AccessDeniedException", "NoSuchEntity"):
            raise SpokeAccessDenied(
                f"cannot assume {role_arn}: deploy spokes/tenant.yaml in account {spoke['account_id']} "
                f"with this hub's account and the tenant's ExternalId ({aws.error_code(exc)})"
            ) from None
        raise


def spoke_of(tenant: dict) -> dict:
    """The spoke of a registry tenant record (the ExternalId is stored, never logged or audited)."""
    return {"account_id": tenant["spoke_account_id"], "external_id": tenant["spoke_external_id"]}


def invoke_policy(profiles: list[dict]) -> dict:
    """Least-privilege policy of the tenant's invoke role: its own profiles and their models only."""
    arns = sorted(p["profile_arn"] for p in profiles)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "InvokeOwnApplicationInferenceProfiles", "Effect": "Allow", "Action": INVOKE_ACTIONS, "Resource": arns},
            {
                "Sid": "ModelsBehindTheProfiles", "Effect": "Allow", "Action": INVOKE_ACTIONS,
                "Resource": sorted({f"arn:aws:bedrock:*::foundation-model/{p['model_id']}" for p in profiles}),
                "Condition": {"StringLike": {"bedrock:InferenceProfileArn": arns}},
            },
        ],
    }


def imported_models_policy(arns: list[str]) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "InvokeGrantedImportedModels", "Effect": "Allow", "Action": INVOKE_ACTIONS, "Resource": sorted(arns)}]}


def suspension_policy() -> dict:
    """An explicit Deny wins over every Allow: the tenant's profiles and imported models are blocked
    whatever promotion or retirement writes meanwhile, and restoring is deleting this one policy."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "BudgetExhaustedSuspendsModelAccess", "Effect": "Deny", "Action": INVOKE_ACTIONS, "Resource": "*"}]}


def _put_or_delete(iam, role_name: str, policy_name: str, document: dict | None) -> None:
    if document is not None:
        iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        return
    try:
        iam.delete_role_policy(RoleName=role_name, PolicyName=policy_name)
    except Exception as exc:
        if aws.error_code(exc) != "NoSuchEntity":
            raise


def spoke_iam(spoke: dict, session: str):
    """An IAM client in the spoke account. Building a client costs milliseconds: reuse it for the
    tenants of one spoke."""
    return aws.client("iam", credentials=spoke_credentials(spoke, session))


def sync_invoke_role(tenant: dict, session: str, *, without_model: str | None = None, iam=None,
                     policies: tuple[str, ...] = (PROFILES_POLICY, IMPORTED_POLICY)) -> dict:
    """Rewrite the tenant's invoke-role `policies` from the registry; `without_model` is left out
    (retirement revokes it before its registry items go). Returns what the role now allows."""
    tenant_id = tenant["tenant_id"]
    items = [i for i in registry.tenant_items(tenant_id, "") if i.get("model_id") != without_model]
    profiles = [i for i in items if i.get("kind") == "profile"]
    imported = [i["invoke_arn"] for i in items if i.get("kind") == "imported-model-grant"]
    iam = iam or spoke_iam(spoke_of(tenant), session)
    role_name = config.tenant_invoke_role_name(tenant_id)
    if PROFILES_POLICY in policies:
        _put_or_delete(iam, role_name, PROFILES_POLICY, invoke_policy(profiles) if profiles else None)
    if IMPORTED_POLICY in policies:
        _put_or_delete(iam, role_name, IMPORTED_POLICY, imported_models_policy(imported) if imported else None)
    return {"profiles": sorted(p["profile_arn"] for p in profiles), "imported_models": sorted(imported)}


def set_suspended(tenant: dict, session: str, suspended: bool, *, iam=None) -> None:
    """Block (suspended) or unblock the tenant's invoke role in its spoke; safe to repeat."""
    iam = iam or spoke_iam(spoke_of(tenant), session)
    role_name = config.tenant_invoke_role_name(tenant["tenant_id"])
    _put_or_delete(iam, role_name, SUSPENSION_POLICY, suspension_policy() if suspended else None)
