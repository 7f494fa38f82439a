"""Tenant onboarding on the local engine: the real template, ASL and handlers."""
from conftest import sample

from genai_hub import audit


def _registry(hub, tenant_id):
    ddb = hub.client("dynamodb")
    items = ddb.query(
        TableName=hub.outputs["RegistryTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant_id}"}},
    )["Items"]
    return {i["sk"]["S"]: i for i in items}


def _application_profiles(hub, region):
    return hub.client("bedrock", region=region).list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]


def test_happy_path_onboards_tenant_with_residency_profiles_grants_and_audit(hub, onboard):
    # Given a tenant with US residency and its spoke deployed
    event = sample("onboarding/acme-retail-us.json")

    # When its onboarding event arrives
    executions = onboard(event)

    # Then the execution succeeded and the tenant is ACTIVE with one profile and grant per model
    assert [e["status"] for e in executions] == ["SUCCEEDED"]
    items = _registry(hub, "acme-retail")
    assert items["META"]["status"]["S"] == "ACTIVE"
    models = set(event["detail"]["default_models"])
    assert {k.split("#", 1)[1] for k in items if k.startswith("GRANT#")} == models
    profiles = _application_profiles(hub, "us-east-1")
    assert len(profiles) == len(models)
    bedrock = hub.client("bedrock")
    for profile in profiles:
        tags = {t["key"]: t["value"] for t in bedrock.list_tags_for_resource(resourceARN=profile["inferenceProfileArn"])["tags"]}
        assert tags["genai-hub:tenant-id"] == "acme-retail"
        assert tags["genai-hub:cost-center"] == "CC-1042"
        assert all(m["modelArn"].startswith("arn:aws:bedrock:us-") for m in profile["models"])
    # and the invoke role exists in the spoke account, scoped to the tenant's profiles
    iam = hub.client("iam", account_id="222222222222")
    policy = iam.get_role_policy(RoleName="genai-hub-tenant-invoke", PolicyName="genai-hub-invoke")["PolicyDocument"]
    assert sorted(policy["Statement"][0]["Resource"]) == sorted(p["inferenceProfileArn"] for p in profiles)
    # and every step left an intact audit record
    records = audit.read_stream("tenant#acme-retail", table=hub.outputs["AuditTableName"])
    assert [r["action"] for r in records] == [
        "RegisterTenant", "CreateInferenceProfiles", "CreateSpokeInvokeRole", "GrantModels", "StoreBudget", "ActivateTenant",
    ]
    assert audit.verify_chain("tenant#acme-retail", records) is None
