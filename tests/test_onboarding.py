"""Tenant onboarding on the local engine: the real template, ASL and handlers."""
import json

import pytest
from conftest import application_profiles, audit_records, registry_items, sample

from genai_hub import audit
from hubsim import faults

STEPS = ["RegisterTenant", "CreateInferenceProfiles", "OpenTenantAccess", "GrantModels", "StoreBudget", "ActivateTenant"]


def _spoke_roles(hub, account_id: str) -> list[str]:
    iam = hub.client("iam", account_id=account_id)
    return [r["RoleName"] for r in iam.list_roles(PathPrefix="/genai-hub/")["Roles"]]


def test_happy_path_onboards_tenant_with_residency_profiles_grants_and_audit(hub, onboard, hub_events):
    # Given a tenant with US residency and its spoke deployed
    event = sample("onboarding/acme-retail-us.json")

    # When its onboarding event arrives
    executions = onboard(event)

    # Then the execution succeeded and the tenant is ACTIVE with one profile and grant per model
    assert [e["status"] for e in executions] == ["SUCCEEDED"]
    items = registry_items(hub, "acme-retail")
    assert items["META"]["status"] == "ACTIVE"
    assert items["META"]["budget"] == {"monthly_limit_usd": "5000", "thresholds": {"yellow": "0.75", "orange": "0.9"}, "on_red": "suspend"}
    models = set(event["detail"]["default_models"])
    assert {k.split("#", 1)[1] for k in items if k.startswith("GRANT#")} == models
    profiles = application_profiles(hub, "us-east-1")
    assert len(profiles) == len(models)
    bedrock = hub.client("bedrock")
    for profile in profiles:
        tags = {t["key"]: t["value"] for t in bedrock.list_tags_for_resource(resourceARN=profile["inferenceProfileArn"])["tags"]}
        assert tags["genai-hub:tenant-id"] == "acme-retail"
        assert tags["genai-hub:cost-center"] == "CC-1042"
        assert all(m["modelArn"].startswith("arn:aws:bedrock:us-") for m in profile["models"])
    # and the grants are found from the model's side too (ByModel index)
    ddb = hub.client("dynamodb")
    by_model = ddb.query(
        TableName=hub.outputs["RegistryTableName"], IndexName="ByModel", KeyConditionExpression="gsi1pk = :m",
        ExpressionAttributeValues={":m": {"S": "MODEL#amazon.nova-pro-v1:0"}},
    )["Items"]
    assert [i["tenant_id"]["S"] for i in by_model] == ["acme-retail"]
    # and the profiles carry the access tag the hub's tenant access role reads, and nothing is created in the spoke
    for profile in profiles:
        tags = bedrock.list_tags_for_resource(resourceARN=profile["inferenceProfileArn"])["tags"]
        assert {"key": "genai-hub:access", "value": "granted"} in tags
    assert _spoke_roles(hub, "222222222222") == []
    assert items["META"]["access"] == {"credentials_url": hub.outputs["TenantCredentialsUrl"],
                                       "role_arn": hub.outputs["TenantAccessRoleArn"],
                                       "principals": ["any principal of account 222222222222"]}
    # and every step left an intact audit record, without the (deprecated) ExternalId
    records = audit_records(hub, "tenant#acme-retail")
    assert [r["action"] for r in records] == STEPS
    assert audit.verify_chain("tenant#acme-retail", records) is None
    assert all(event["detail"]["spoke"]["external_id"] not in r["detail"] for r in records)
    # and TenantOnboarded was emitted with the profiles
    onboarded = hub_events("TenantOnboarded")
    assert [e["detail"]["tenant_id"] for e in onboarded] == ["acme-retail"]
    assert {p["model_id"] for p in onboarded[0]["detail"]["profiles"]} == models


def test_three_deliveries_make_one_tenant_one_set_of_profiles_one_chain(hub, onboard, hub_events):
    # Given the same onboarding event delivered three times (EventBridge is at-least-once)
    event = sample("onboarding/acme-retail-us.json")

    # When all three deliveries arrive at once
    executions = onboard(event, deliveries=3)

    # Then three executions ran, but only one went past the tenant lock
    assert [e["status"] for e in executions] == ["SUCCEEDED"] * 3
    registered = [e for e in executions if any(
        h.get("stateEnteredEventDetails", {}).get("name") == "Register tenant" for h in hub.history(e["executionArn"]))]
    assert len(registered) == 1
    # and there is one tenant, one profile per model, one grant per model, one role, one audit chain
    models = event["detail"]["default_models"]
    assert len(application_profiles(hub, "us-east-1")) == len(models)
    items = registry_items(hub, "acme-retail")
    assert len([k for k in items if k.startswith("GRANT#")]) == len(models)
    assert items["META"]["access"]["role_arn"] == hub.outputs["TenantAccessRoleArn"]
    records = audit_records(hub, "tenant#acme-retail")
    assert [r["action"] for r in records] == STEPS
    assert len(hub_events("TenantOnboarded")) == 1


def test_transient_lambda_errors_are_retried_and_onboarding_succeeds(hub, onboard):
    # Given the Lambda service failing twice on profile creation (a transient error)
    faults.inject("CreateTenantProfilesFunction", error="Lambda.ServiceException", times=2)

    # When the tenant is onboarded
    executions = onboard(sample("onboarding/acme-retail-us.json"))

    # Then the standard retrier absorbed the errors: one onboarding, one profile per model
    assert [e["status"] for e in executions] == ["SUCCEEDED"]
    assert registry_items(hub, "acme-retail")["META"]["status"] == "ACTIVE"
    assert len(application_profiles(hub, "us-east-1")) == 2
    assert [r["action"] for r in audit_records(hub, "tenant#acme-retail")] == STEPS


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("function", [
    "RegisterTenantFunction", "CreateTenantProfilesFunction", "OpenTenantAccessFunction",
    "GrantDefaultModelsFunction", "StoreBudgetFunction", "ActivateTenantFunction",
])
def test_failure_at_each_step_compensates_everything(hub, onboard, hub_events, function, when):
    # Given a permanent failure in one provisioning step, before its work or after it (work done, error seen)
    faults.inject(function, error="ProvisioningFailed", times=None, when=when)
    event = sample("onboarding/acme-retail-us.json")

    # When the tenant is onboarded
    executions = onboard(event)

    # Then the execution ends in its failure path after every compensation
    assert [(e["status"]) for e in executions] == ["FAILED"]
    description = hub.client("stepfunctions").describe_execution(executionArn=executions[0]["executionArn"])
    assert description["error"] == "OnboardingFailed"
    # and nothing is left behind: no profile, no open access, no grant, no lock
    assert application_profiles(hub, "us-east-1") == []
    items = registry_items(hub, "acme-retail")
    assert not items["META"].get("access")
    assert not [k for k in items if k.startswith(("GRANT#", "PROFILE#"))]
    assert "LOCK" not in items
    # and the tenant is FAILED with the reason, audited, and TenantOnboardingFailed was emitted
    assert items["META"]["status"] == "FAILED"
    assert items["META"]["failure_error"] == "ProvisioningFailed"
    assert function in items["META"]["failure_reason"]
    records = audit_records(hub, "tenant#acme-retail")
    assert records[-1]["action"] == "FailOnboarding" and records[-1]["outcome"] == "FAILED"
    assert audit.verify_chain("tenant#acme-retail", records) is None
    failed = hub_events("TenantOnboardingFailed")
    assert [(e["detail"]["tenant_id"], e["detail"]["compensated"]) for e in failed] == [("acme-retail", True)]


def test_failed_onboarding_can_be_retried_after_the_cause_is_fixed(hub, onboard):
    # Given an onboarding that failed because a model has no profile in the tenant's geography
    event = sample("onboarding/acme-retail-us.json")
    asked = event["detail"]["default_models"]
    event["detail"]["default_models"] = asked + ["mistral.pixtral-large-2502-v1:0"]
    event["detail"]["data_residency"] = "apac"
    onboard(event)
    assert registry_items(hub, "acme-retail")["META"]["status"] == "FAILED"

    # When the request is fixed and sent again
    executions = onboard(sample("onboarding/acme-retail-us.json"))

    # Then the second onboarding runs (the lock was released) and succeeds
    assert [e["status"] for e in executions] == ["FAILED", "SUCCEEDED"]
    assert registry_items(hub, "acme-retail")["META"]["status"] == "ACTIVE"
    actions = [r["action"] for r in audit_records(hub, "tenant#acme-retail")]
    assert actions.count("FailOnboarding") == 1 and actions[-1] == "ActivateTenant"


def test_principals_outside_the_spoke_account_are_rejected_naming_the_field(hub, onboard):
    # Given a request naming a principal of another account than its spoke
    event = sample("onboarding/acme-retail-us.json")
    event["detail"]["spoke"]["principals"] = ["arn:aws:iam::999999999999:role/someone-else"]

    # When it is sent
    onboard(event)

    # Then it is rejected, naming the field and what was expected, and nothing is registered
    rejected = [r for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "RejectInput"]
    assert rejected and json.loads(rejected[-1]["detail"])["field"] == "$.spoke.principals[0]"
    assert "META" not in registry_items(hub, "acme-retail")


def test_eu_residency_never_gets_us_or_global_profiles(hub, onboard):
    # Given an EU tenant whose models also exist as us. and global. profiles
    event = sample("onboarding/bavaria-bank-eu.json")
    assert event["detail"].get("allow_global_inference", False) is False

    # When it is onboarded
    executions = onboard(event)

    # Then its profiles are created in the EU home Region, copied from eu. profiles only
    assert [e["status"] for e in executions] == ["SUCCEEDED"]
    items = registry_items(hub, "bavaria-bank")
    sources = [items[k]["source_profile_id"] for k in items if k.startswith("PROFILE#")]
    assert sources and all(s.startswith("eu.") for s in sources)
    profiles = application_profiles(hub, "eu-central-1")
    assert len(profiles) == 2
    for profile in profiles:
        regions = {m["modelArn"].split(":")[3] for m in profile["models"]}
        assert regions and all(r.startswith("eu-") for r in regions), regions
    assert application_profiles(hub, "us-east-1") == []


def test_model_without_profile_in_residency_fails_before_creating_any_profile(hub, onboard):
    # Given an EU tenant asking for a model that only has a us. profile
    event = sample("onboarding/eu-tenant-us-only-model.json")

    # When it is onboarded
    onboard(event)

    # Then no profile was created at all, and the failure names the model
    meta = registry_items(hub, "lyon-insurance")["META"]
    assert (meta["status"], meta["failure_error"]) == ("FAILED", "NoProfileForResidency")
    assert "meta.llama3-1-70b-instruct-v1:0" in meta["failure_reason"]
    assert application_profiles(hub, "eu-central-1") == []


def _mutate(path: str, value):
    def apply(detail):
        *parents, leaf = path.split(".")
        node = detail
        for p in parents:
            node = node[p]
        if value is KeyError:
            del node[leaf]
        else:
            node[leaf] = value
        return detail
    return apply


INVALID = [
    ("tenant_id", KeyError, "$.tenant_id"),
    ("tenant_id", "Acme Retail!", "$.tenant_id"),
    ("data_residency", "mars", "$.data_residency"),
    ("spoke.account_id", "12345", "$.spoke.account_id"),
    ("default_models", [], "$.default_models"),
    ("budget.monthly_limit_usd", -5, "$.budget.monthly_limit_usd"),
    ("budget.thresholds", {"yellow": 0.95, "orange": 0.5}, "$.budget.thresholds"),
    ("cost_center", 42, "$.cost_center"),
    ("unexpected_field", "x", "$"),
]


@pytest.mark.parametrize("path,value,field", INVALID, ids=[f"{p}={v!r}"[:40] for p, v, _ in INVALID])
def test_invalid_event_is_rejected_with_the_field_named_and_audited(hub, onboard, hub_events, path, value, field):
    # Given an onboarding event with one bad field
    event = sample("onboarding/acme-retail-us.json")
    event["detail"] = _mutate(path, value)(event["detail"])

    # When it arrives
    executions = onboard(event, deploy_spoke=False)

    # Then the execution is rejected, the rejection names the field, and nothing was registered
    description = hub.client("stepfunctions").describe_execution(executionArn=executions[0]["executionArn"])
    assert (description["status"], description["error"]) == ("FAILED", "InputRejected")
    rejected = hub_events("WorkflowInputRejected")
    assert len(rejected) == 1
    assert rejected[0]["detail"]["field"] == field
    assert field in rejected[0]["detail"]["reason"]
    tenant_id = event["detail"].get("tenant_id")
    stream = "tenant#acme-retail" if tenant_id == "acme-retail" else "rejected#tenant-onboarding"
    assert "META" not in registry_items(hub, "acme-retail")
    # and the rejection is audited on the tenant's stream (or the rejections stream for a bad id)
    records = audit_records(hub, stream)
    assert [(r["action"], r["outcome"]) for r in records] == [("RejectInput", "REJECTED")]
    assert json.loads(records[0]["detail"])["field"] == field


def test_a_failed_compensation_fails_loudly_and_says_what_is_left(hub, onboard, hub_events):
    # Given a failure after the profiles exist, and a compensation that cannot delete them
    faults.inject("GrantDefaultModelsFunction", error="ProvisioningFailed", times=None)
    faults.inject("DeleteTenantProfilesFunction", error="BedrockUnavailable", times=None)

    # When the tenant is onboarded
    executions = onboard(sample("onboarding/acme-retail-us.json"))

    # Then the execution fails as CompensationFailed (the alarm's signal), never as a quiet success
    description = hub.client("stepfunctions").describe_execution(executionArn=executions[0]["executionArn"])
    assert (description["status"], description["error"]) == ("FAILED", "CompensationFailed")
    # and the tenant is FAILED with what went wrong, the event says it is not compensated, the audit too
    meta = registry_items(hub, "acme-retail")["META"]
    assert meta["status"] == "FAILED" and "compensation incomplete: BedrockUnavailable" in meta["failure_reason"]
    failed = hub_events("TenantOnboardingFailed")
    assert [e["detail"]["compensated"] for e in failed] == [False]
    last = audit_records(hub, "tenant#acme-retail")[-1]
    assert (last["action"], json.loads(last["detail"])["compensated"]) == ("FailOnboarding", False)
    # and what could be undone was undone: the grants and the spoke role
    assert not [k for k in registry_items(hub, "acme-retail") if k.startswith("GRANT#")]
    assert _spoke_roles(hub, "222222222222") == []


def test_profiles_left_by_an_earlier_onboarding_are_reused_not_duplicated(hub, onboard):
    # Given an onboarding whose compensation could not delete the tenant's profiles
    faults.inject("GrantDefaultModelsFunction", error="ProvisioningFailed", times=1)
    faults.inject("DeleteTenantProfilesFunction", error="BedrockUnavailable", times=None)
    event = sample("onboarding/acme-retail-us.json")
    onboard(event)
    left = {p["inferenceProfileName"]: p["inferenceProfileArn"] for p in application_profiles(hub, "us-east-1")}
    assert len(left) == len(event["detail"]["default_models"])

    # When the request is sent again (a new execution: Bedrock sees another clientRequestToken, so the
    # names conflict) and nothing fails this time
    faults.clear()
    executions = onboard(event)

    # Then the tenant is ACTIVE on the profiles that were left, and no second set exists
    assert [e["status"] for e in executions] == ["FAILED", "SUCCEEDED"]
    items = registry_items(hub, "acme-retail")
    assert items["META"]["status"] == "ACTIVE"
    assert sorted(v["profile_arn"] for k, v in items.items() if k.startswith("PROFILE#")) == sorted(left.values())
    assert {p["inferenceProfileName"]: p["inferenceProfileArn"] for p in application_profiles(hub, "us-east-1")} == left
