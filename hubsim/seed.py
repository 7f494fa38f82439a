"""Seed a local hub with many ACTIVE tenants holding a foundation model, as onboarding leaves them.

Running thousands of onboardings to set up a scale test of another workflow would take tens of
minutes; this writes the same end state directly: per tenant the registry items (META, PROFILE#,
GRANT# on the ByModel index) and an application inference profile in Bedrock tagged for the tenant
access role (genai_hub.access). Tenants share `per_account` spoke accounts, as tenants of one
business unit do.
"""
from genai_hub import access
from genai_hub.onboarding import profile_name
from genai_hub.registry import TENANTS_KEY, tenant_pk, to_item

SOURCE_PROFILE = "us.amazon.nova-pro-v1:0"
MODEL_ID = "amazon.nova-pro-v1:0"


def seed_tenants(hub, count: int, *, per_account: int = 500, model_id: str = MODEL_ID, prefix: str = "scale") -> list[str]:
    """Create `count` tenants `<prefix>-00001`... holding `model_id`; returns their ids."""
    bedrock = hub.client("bedrock")
    source_arn = bedrock.get_inference_profile(inferenceProfileIdentifier=SOURCE_PROFILE)["inferenceProfileArn"]
    ddb, table = hub.client("dynamodb"), hub.outputs["RegistryTableName"]
    tenant_ids, items = [], []
    for first in range(0, count, per_account):
        account = f"{900000000000 + first // per_account:012d}"
        for number in range(first + 1, min(first + per_account, count) + 1):
            tenant_id = f"{prefix}-{number:05d}"
            arn = bedrock.create_inference_profile(
                inferenceProfileName=profile_name(tenant_id, model_id), modelSource={"copyFrom": source_arn},
                tags=[{"key": access.TAG_TENANT, "value": tenant_id}, {"key": access.TAG_ACCESS, "value": access.GRANTED}],
            )["inferenceProfileArn"]
            profile = {"model_id": model_id, "profile_arn": arn, "source_profile_id": SOURCE_PROFILE, "region": hub.region}
            pk = tenant_pk(tenant_id)
            items += [
                {"pk": pk, "sk": "META", "kind": "tenant", "gsi1pk": TENANTS_KEY, "gsi1sk": pk, "tenant_id": tenant_id, "display_name": tenant_id, "cost_center": "CC-1",
                 "data_residency": "us", "allow_global_inference": False, "spoke_account_id": account,
                 "access_principals": [], "default_models": [model_id], "status": "ACTIVE", "requested_by": "seed",
                 "budget": {"monthly_limit_usd": "100", "thresholds": {"yellow": "0.8", "orange": "0.9"}, "on_red": "suspend"},
                 "budget_level": "GREEN"},
                {"pk": pk, "sk": f"PROFILE#{model_id}", "kind": "profile", **profile},
                {"pk": pk, "sk": f"GRANT#{model_id}", "kind": "grant", "gsi1pk": f"MODEL#{model_id}", "gsi1sk": pk,
                 "tenant_id": tenant_id, "model_id": model_id, "profile_arn": arn, "granted_at": "2026-01-01T00:00:00Z"},
            ]
            tenant_ids.append(tenant_id)
    for start in range(0, len(items), 25):
        pending = {table: [{"PutRequest": {"Item": to_item(i)}} for i in items[start:start + 25]]}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return tenant_ids
