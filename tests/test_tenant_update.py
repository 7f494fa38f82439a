"""Tenant update (issue 18): add and remove models, budget and cost centre, residency refused;
partial failure puts the tenant back as it was; updates and offboardings in a defined order."""
import json
import time

import pytest
from hubsim.engine import HUB_ACCOUNT
from conftest import application_profiles, audit_records, registry_items, sample
from test_retirement import call as _call

ACME = "222222222222"
NOVA, LITE, PREMIER = "amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-premier-v1:0"
SONNET = "anthropic.claude-sonnet-4-20250514-v1:0"


@pytest.fixture
def acme(hub, onboard):
    assert [e["status"] for e in onboard(sample("onboarding/acme-retail-us.json"))][-1] == "SUCCEEDED"
    return registry_items(hub, "acme-retail")


def update(hub, wait: bool = True, **change) -> list[dict]:
    hub.put_event("TenantUpdateRequested", {"tenant_id": "acme-retail", "requested_by": "platform-admin@example.com", **change})
    if not wait:
        return []
    hub.wait_for_executions(timeout=180)
    return executions(hub)


def executions(hub, output: str = "TenantUpdateStateMachineArn") -> list[dict]:
    sfn = hub.client("stepfunctions")
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in
            sorted(sfn.list_executions(stateMachineArn=hub.outputs[output])["executions"], key=lambda e: e["startDate"])]


def _tags(hub, arn: str) -> dict:
    return {t["key"]: t["value"] for t in hub.client("bedrock").list_tags_for_resource(resourceARN=arn)["tags"]}


def test_a_model_added_then_removed_reaches_the_tenant_then_is_refused(hub, acme, hub_events):
    held = sorted(k[len("GRANT#"):] for k in acme if k.startswith("GRANT#"))
    new = next(m for m in (SONNET, LITE) if m not in held)
    # When a model is added
    [done] = update(hub, add_models=[new], reason="new use case")
    assert done["status"] == "SUCCEEDED", done.get("cause")
    items = registry_items(hub, "acme-retail")
    profile = items[f"PROFILE#{new}"]
    # Then its profile is in the tenant's Region, tagged for it, granted, and the tenant can call it
    assert profile["region"] == "us-east-1" and profile["source_profile_id"].startswith("us.")
    assert _tags(hub, profile["profile_arn"])["genai-hub:tenant-id"] == "acme-retail"
    assert items[f"GRANT#{new}"]["profile_arn"] == profile["profile_arn"]
    session = hub.tenant_session("acme-retail", ACME)
    assert _call(session, profile["profile_arn"]) == ""
    # When it is removed again: the next call is refused, its profile and grant are gone
    [_, removed] = update(hub, remove_models=[new])
    assert removed["status"] == "SUCCEEDED", removed.get("cause")
    assert _call(session, profile["profile_arn"]) == "AccessDeniedException"
    items = registry_items(hub, "acme-retail")
    assert f"GRANT#{new}" not in items and f"PROFILE#{new}" not in items
    assert not [p for p in application_profiles(hub, "us-east-1") if p["inferenceProfileArn"] == profile["profile_arn"]]
    # Both audited in order, and announced
    actions = [r["action"] for r in audit_records(hub, "tenant#acme-retail") if r["workflow"] == "tenant-update"]
    assert actions == ["AddModels", "UpdateTenant", "RemoveModels", "UpdateTenant"]
    updated = hub_events("TenantUpdated")
    assert [e["detail"]["changes"]["removed"] for e in updated] == [[], [new]]
    from genai_hub import schemas

    for event in updated:
        schemas.validate_detail("TenantUpdated", event["detail"])


def test_budget_and_cost_centre_change_retag_profiles_and_the_next_budget_run_uses_the_new_limit(hub, acme):
    from datetime import datetime, timedelta, timezone

    from test_budget import record_usage

    # Given acme-retail (5,000 USD a month) spending ~4,000 USD this month: ORANGE territory
    profile = acme[f"PROFILE#{NOVA}"]
    now = datetime.now(timezone.utc)
    record_usage(hub, profile, now.replace(day=1, hour=1, minute=0), 10, 4_000_000_000, 0)
    # When its limit is raised to 50,000 USD and its cost centre changes
    [done] = update(hub, budget={"monthly_limit_usd": 50000}, cost_center="CC-9999")
    assert done["status"] == "SUCCEEDED", done.get("cause")
    meta = registry_items(hub, "acme-retail")["META"]
    assert meta["cost_center"] == "CC-9999" and meta["budget"]["monthly_limit_usd"] == "50000"
    assert meta["budget"]["thresholds"] == acme["META"]["budget"]["thresholds"]  # untouched fields stay
    # Then every profile carries the new cost centre
    for key, item in registry_items(hub, "acme-retail").items():
        if key.startswith("PROFILE#"):
            assert _tags(hub, item["profile_arn"])["genai-hub:cost-center"] == "CC-9999"
    # and the next budget run assesses against the new limit
    sfn = hub.client("stepfunctions")
    run = sfn.start_execution(stateMachineArn=hub.outputs["BudgetAlertsStateMachineArn"], input=json.dumps(
        {"tenants": ["acme-retail"], "requested_by": "test"}))["executionArn"]
    hub.wait_for_executions(timeout=120)
    assert sfn.describe_execution(executionArn=run)["status"] == "SUCCEEDED"
    month = registry_items(hub, "acme-retail")[f"USAGE#{now:%Y-%m}"]
    assert float(month["month_to_date_usd"]) > 3000 and month["level"] == "GREEN" and str(month["limit_usd"]).startswith("50000")


@pytest.mark.parametrize("change, field, says", [
    ({"data_residency": "eu"}, "$.data_residency", "offboard the tenant"),
    ({"add_models": [NOVA]}, "$.add_models[0]", "already holds"),
    ({"remove_models": ["amazon.titan-text-express-v1"]}, "$.remove_models[0]", "does not hold"),
    ({"budget": {"thresholds": {"yellow": 0.95}}}, "$.budget.thresholds", "must not be above orange"),
    ({"reason": "nothing else"}, "$", "nothing to change"),
    ({"tenant_id": "nobody-here", "cost_center": "CC-1"}, "$.tenant_id", "no tenant"),
])
def test_a_bad_update_is_rejected_naming_the_field_and_changes_nothing(hub, acme, change, field, says):
    before = registry_items(hub, "acme-retail")
    [done] = update(hub, **change)
    assert (done["status"], done["error"]) == ("FAILED", "InputRejected")
    stream = "rejected#tenant-update" if change.get("tenant_id") == "nobody-here" else "tenant#acme-retail"
    [rejection] = [json.loads(r["detail"]) for r in audit_records(hub, stream) if r["action"] == "RejectInput"]
    assert rejection["field"] == field and says in rejection["reason"], rejection
    after = registry_items(hub, "acme-retail")
    assert {k: v for k, v in after.items() if k != "META"} == {k: v for k, v in before.items() if k != "META"}
    assert after["META"]["status"] == "ACTIVE" and not (after["META"].get("tenant_update") or {}).get("execution")


def test_adding_a_retiring_model_is_refused_naming_its_successor(hub, acme, onboard):
    from test_retirement import retire, retirement_records, wait_until

    assert [e["status"] for e in onboard(sample("onboarding/globex-support-us.json"))][-1] == "SUCCEEDED"
    retire(hub, wait=False, model=LITE.rsplit(":", 1)[0], version="0", grace="P7D", successor=PREMIER)
    [record] = wait_until(lambda: [r for r in retirement_records(hub, LITE) if r["status"] == "SCHEDULED"], what="SCHEDULED")
    update(hub, wait=False, add_models=[LITE])
    wait_until(lambda: [e for e in executions(hub) if e["status"] != "RUNNING"], what="update ended")
    [done] = executions(hub)
    assert done["error"] == "InputRejected"
    [rejection] = [json.loads(r["detail"]) for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "RejectInput"]
    assert rejection["field"] == "$.add_models[0]" and "retiring" in rejection["reason"] and PREMIER in rejection["reason"]
    hub.client("stepfunctions").send_task_failure(taskToken=record["task_token"], error="RetirementCancelled",
                                                  cause=json.dumps({"cancelled_by": "t", "reason": "end of test"}))
    hub.wait_for_executions(timeout=60)


def test_a_failure_while_adding_puts_the_tenant_back_as_it_was(hub, acme):
    from hubsim import faults

    before = {k: v for k, v in registry_items(hub, "acme-retail").items()}
    profiles_before = sorted(p["inferenceProfileArn"] for p in application_profiles(hub, "us-east-1"))
    faults.inject("RemoveTenantModelsFunction", error="InjectedPermanentFailure", times=None)
    try:
        [done] = update(hub, add_models=[SONNET], remove_models=[NOVA], budget={"monthly_limit_usd": 1}, cost_center="CC-0001")
    finally:
        faults.clear()
    assert (done["status"], done["error"]) == ("FAILED", "UpdateFailed")
    after = registry_items(hub, "acme-retail")
    assert sorted(k for k in after if k.startswith(("PROFILE#", "GRANT#"))) == sorted(k for k in before if k.startswith(("PROFILE#", "GRANT#")))
    assert sorted(p["inferenceProfileArn"] for p in application_profiles(hub, "us-east-1")) == profiles_before
    assert after["META"]["budget"] == before["META"]["budget"] and after["META"]["cost_center"] == before["META"]["cost_center"]
    for key, item in after.items():
        if key.startswith("PROFILE#"):
            tags = _tags(hub, item["profile_arn"])
            assert (tags["genai-hub:access"], tags["genai-hub:cost-center"]) == ("granted", before["META"]["cost_center"])
    assert _call(hub.tenant_session("acme-retail", ACME), after[f"PROFILE#{NOVA}"]["profile_arn"]) == ""
    assert [r["action"] for r in audit_records(hub, "tenant#acme-retail") if r["workflow"] == "tenant-update"] == \
        ["ChangeTenantSettings", "AddModels", "UndoTenantUpdate"]


def test_two_updates_sent_together_both_succeed_one_after_the_other(hub, acme):
    # Two updates sent together: both succeed, one after the other (the second waits for the marker)
    update(hub, wait=False, budget={"monthly_limit_usd": 6000})
    update(hub, wait=False, cost_center="CC-4242")
    hub.wait_for_executions(timeout=300)
    updates = executions(hub)
    assert [e["status"] for e in updates] == ["SUCCEEDED", "SUCCEEDED"], [(e.get("error"), e.get("cause")) for e in updates]
    meta = registry_items(hub, "acme-retail")["META"]
    assert meta["budget"]["monthly_limit_usd"] == "6000" and meta["cost_center"] == "CC-4242"
    assert "tenant_update" not in meta or not (meta["tenant_update"] or {}).get("execution")  # the marker was released
    actions = [r["action"] for r in audit_records(hub, "tenant#acme-retail")]
    assert actions.count("UpdateTenant") == 2


def test_an_offboarding_waits_while_an_update_holds_the_tenant_then_cuts_access(hub, acme):
    # An update holds the tenant (its marker on META, as Take update lock writes it). Sent alongside
    # updates, an offboarding may also win the race to the tenant: EventBridge does not order events,
    # and then the update is refused. The marker is held here by hand so that the wait is certain.
    table, key = hub.outputs["RegistryTableName"], {"pk": {"S": "TENANT#acme-retail"}, "sk": {"S": "META"}}
    holder = f"arn:aws:states:{hub.region}:{HUB_ACCOUNT}:execution:genai-hub-tenant-update:held-by-the-test"
    ddb = hub.client("dynamodb")
    ddb.update_item(TableName=table, Key=key, UpdateExpression="SET tenant_update = :u",
                    ExpressionAttributeValues={":u": {"M": {"execution": {"S": holder}}}})
    hub.put_event("TenantOffboardingRequested", {"tenant_id": "acme-retail", "reason": "after the update", "requested_by": "admin"})
    sfn = hub.client("stepfunctions")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        [offboarding] = executions(hub, "OffboardingStateMachineArn") or [None]
        history = sfn.get_execution_history(executionArn=offboarding["executionArn"], maxResults=1000)["events"] if offboarding else []
        waited = [e for e in history if e.get("lambdaFunctionFailedEventDetails", {}).get("error") == "TenantUpdating"]
        if waited:
            break
        time.sleep(0.2)
    assert waited and holder in waited[0]["lambdaFunctionFailedEventDetails"]["cause"]
    # while it waits, nothing is cut
    assert registry_items(hub, "acme-retail")["META"]["status"] == "ACTIVE"
    assert "CutAccess" not in [r["action"] for r in audit_records(hub, "tenant#acme-retail")]
    # the update ends (its marker released): the offboarding goes on
    ddb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE tenant_update")
    hub.wait_for_executions(timeout=300)
    [offboarded] = executions(hub, "OffboardingStateMachineArn")
    assert offboarded["status"] == "SUCCEEDED", offboarded.get("cause")
    assert registry_items(hub, "acme-retail")["META"]["status"] == "OFFBOARDED"
    # and an update of an offboarded tenant is refused, saying how to bring it back
    update(hub, cost_center="CC-1")
    last = executions(hub)[-1]
    assert last["error"] == "InputRejected"
    assert "onboard it again" in json.loads([r for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "RejectInput"][-1]["detail"])["reason"]


def test_raising_the_limit_of_a_suspended_tenant_restores_it_at_the_next_budget_run_not_before(hub, acme):
    from datetime import datetime, timezone

    from test_budget import record_usage

    def budget_run():
        sfn = hub.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=hub.outputs["BudgetAlertsStateMachineArn"], input=json.dumps(
            {"tenants": ["acme-retail"], "requested_by": "test"}))["executionArn"]
        hub.wait_for_executions(timeout=120)
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"

    # Given acme-retail over its 5,000 USD and suspended by a budget run
    now = datetime.now(timezone.utc)
    record_usage(hub, acme[f"PROFILE#{NOVA}"], now.replace(day=1, hour=1, minute=0), 10, 8_000_000_000, 0)
    budget_run()
    assert registry_items(hub, "acme-retail")["META"]["status"] == "SUSPENDED"
    # When its limit is raised well above its spend
    [done] = update(hub, budget={"monthly_limit_usd": 100000})
    assert done["status"] == "SUCCEEDED", done.get("cause")
    # Then it stays suspended until the next budget run assesses it, which restores it (audited there)
    meta = registry_items(hub, "acme-retail")["META"]
    assert meta["status"] == "SUSPENDED"
    budget_run()
    meta = registry_items(hub, "acme-retail")["META"]
    assert meta["status"] == "ACTIVE" and meta["budget_level"] != "RED"
    assert _tags(hub, acme[f"PROFILE#{NOVA}"]["profile_arn"])["genai-hub:access"] == "granted"


def test_hubctl_updates_a_tenant_with_a_dry_run_then_for_real(hub, acme, capsys):
    from hubctl.cli import main as hubctl

    assert hubctl(["tenants", "update", "acme-retail", "--add-model", SONNET, "--monthly-limit", "8000", "--dry-run"]) == 0
    said = capsys.readouterr().out
    assert f"would get {SONNET}" in said and "8000" in said and "nothing was changed" in said
    assert f"GRANT#{SONNET}" not in registry_items(hub, "acme-retail")
    assert hubctl(["tenants", "update", "acme-retail", "--add-model", SONNET, "--monthly-limit", "8000", "--wait"]) == 0
    said = capsys.readouterr().out
    assert f"updated acme-retail: added {SONNET}; budget 8000" in said and "modelId for" in said
    # what the hub refuses comes back as one line naming the flag, exit 2
    assert hubctl(["tenants", "update", "acme-retail", "--add-model", SONNET, "--wait"]) == 2
    assert "--add-model" in capsys.readouterr().err
    assert hubctl(["tenants", "update", "acme-retail"]) == 2
    assert "nothing to change" in capsys.readouterr().err


def test_removing_an_imported_model_revokes_the_sessions_that_named_it(hub, acme):
    # Given acme-retail holding an imported model (its grant as the evaluation's promotion writes it)
    # and a session vended while it held it
    from genai_hub.registry import to_item

    model_id = "support-bot:1.0.0"
    invoke_arn = f"arn:aws:bedrock:us-east-1:{hub.outputs['HubAccountId']}:imported-model/abcdefgh1234"
    hub.client("dynamodb").put_item(TableName=hub.outputs["RegistryTableName"], Item=to_item({
        "pk": "TENANT#acme-retail", "sk": f"GRANT#{model_id}", "kind": "imported-model-grant", "gsi1pk": f"MODEL#{model_id}",
        "gsi1sk": "TENANT#acme-retail", "tenant_id": "acme-retail", "model_id": model_id, "invoke_arn": invoke_arn,
        "region": "us-east-1", "granted_at": "2026-12-01T00:00:00Z"}))
    before = hub.tenant_session("acme-retail", ACME)
    assert before.hub_models["imported_models"] == {model_id: invoke_arn}
    import time

    time.sleep(1.1)  # IAM compares whole seconds: the revocation must come after the session was issued
    # When the imported model is removed
    [done] = update(hub, remove_models=[model_id])
    assert done["status"] == "SUCCEEDED", done.get("cause")
    # Then the grant is gone, the session that named it is refused everywhere, and a new one does not name it
    assert f"GRANT#{model_id}" not in registry_items(hub, "acme-retail")
    assert _call(before, acme[f"PROFILE#{NOVA}"]["profile_arn"]) == "AccessDeniedException"
    after = hub.tenant_session("acme-retail", ACME)
    assert after.hub_models["imported_models"] == {} and _call(after, acme[f"PROFILE#{NOVA}"]["profile_arn"]) == ""


def test_an_update_of_a_tenant_being_onboarded_is_rejected_and_waits_for_nothing(hub, acme):
    # Given acme-retail's registration as its onboarding leaves it between Register and Activate
    hub.client("dynamodb").update_item(TableName=hub.outputs["RegistryTableName"], Key={"pk": {"S": "TENANT#acme-retail"},
                                       "sk": {"S": "META"}}, UpdateExpression="SET #s = :p",
                                       ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":p": {"S": "PENDING"}})
    # When an update arrives: rejected at once with the reason, nothing changed
    [done] = update(hub, cost_center="CC-7")
    assert done["error"] == "InputRejected"
    [rejection] = [json.loads(r["detail"]) for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "RejectInput"]
    assert "being onboarded" in rejection["reason"] and registry_items(hub, "acme-retail")["META"]["cost_center"] != "CC-7"
