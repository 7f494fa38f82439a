"""Duplicates and conflicts across workflows: every trigger the template routes (discovered from its
EventBridge rules) delivered three times at once, for several tenants and models together, has
exactly one effect each, counted in resources, jobs, events and audit records; conflicting
operations at the same time end in a defined order, audited."""
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from conftest import acting_as, application_profiles, audit_records, registry_items
from test_budget import record_usage, tenant_event
from test_evaluation import GOOD, _version, research  # noqa: F401 (research is a fixture)

from hubctl.cli import main as hubctl
from hubsim import sample_model
from hubsim.deploy import load_template
from test_faults_every_state import ROOT

DELIVERIES = 3
COVERED = {"TenantOnboardingRequested", "Object Created", "ModelImportRequested", "ModelImported", "ModelRetirementRequested",
           "TenantOffboardingRequested", "TenantUpdateRequested"}
STEPS = ["RegisterTenant", "CreateInferenceProfiles", "OpenTenantAccess", "GrantModels", "StoreBudget", "ActivateTenant"]


def test_every_routed_trigger_has_a_duplicate_scenario():
    routed = set()
    for resource in load_template(ROOT / "template.yaml")["Resources"].values():
        if resource["Type"] == "AWS::Events::Rule":
            routed.update(resource["Properties"]["EventPattern"]["detail-type"])
    assert routed == COVERED, "a new trigger needs a duplicate scenario in tests/test_duplicates.py"


def _concurrently(calls: list) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


def test_many_tenants_each_onboarding_requested_three_times_at_once(hub, hub_events, record_property):
    tenants = {f"dup-tenant-{n:02d}": f"{610000000000 + n % 2:012d}" for n in range(8)}
    for account in set(tenants.values()):
        hub.deploy_tenant_spoke(account, f"dup-{account}")
    events = []
    for tenant_id, account in tenants.items():
        detail = tenant_event(tenant_id, account, 100)["detail"]
        detail["spoke"]["external_id"] = f"dup-{account}"
        events += [detail] * DELIVERIES
    _concurrently([lambda d=d: hub.put_event("TenantOnboardingRequested", d) for d in events])
    hub.wait_for_executions(timeout=180)

    assert len(hub_events("TenantOnboarded")) == len(tenants)
    profiles = application_profiles(hub, "us-east-1")
    for tenant_id, account in tenants.items():
        items = registry_items(hub, tenant_id)
        assert items["META"]["status"] == "ACTIVE"
        assert len([p for p in profiles if p["inferenceProfileName"].startswith(tenant_id)]) == 2
        assert [r["action"] for r in audit_records(hub, f"tenant#{tenant_id}")] == STEPS
        assert items["META"]["access"]["principals"] == [f"any principal of account {account}"]
    record_property("figures", f"duplicates: {len(events)} onboarding events for {len(tenants)} tenants, one effect each")


def _onboarded(hub, prefix: str, first_account: int, count: int) -> dict[str, str]:
    """`count` tenants onboarded once each, over two spoke accounts: {tenant_id: account}."""
    tenants = {f"{prefix}-{n:02d}": f"{first_account + n % 2:012d}" for n in range(count)}
    for account in set(tenants.values()):
        hub.deploy_tenant_spoke(account, f"dup-{account}")
    for tenant_id, account in tenants.items():
        detail = tenant_event(tenant_id, account, 100)["detail"]
        detail["spoke"]["external_id"] = f"dup-{account}"
        hub.put_event("TenantOnboardingRequested", detail)
    hub.wait_for_executions(timeout=180)
    return tenants


def test_many_tenants_each_offboarding_requested_three_times_at_once(hub, hub_events, record_property):
    tenants = _onboarded(hub, "dup-leaver", 620000000000, 6)
    requests = [{"tenant_id": t, "reason": "duplicate test", "requested_by": "dup-test"} for t in tenants] * DELIVERIES
    _concurrently([lambda d=d: hub.put_event("TenantOffboardingRequested", d) for d in requests])
    hub.wait_for_executions(timeout=180)

    assert sorted(e["detail"]["tenant_id"] for e in hub_events("TenantOffboarded")) == sorted(tenants)
    profiles = application_profiles(hub, "us-east-1")
    for tenant_id in tenants:
        items = registry_items(hub, tenant_id)
        assert items["META"]["status"] == "OFFBOARDED" and not [k for k in items if k.startswith(("PROFILE#", "GRANT#"))]
        assert not [p for p in profiles if p["inferenceProfileName"].startswith(tenant_id)]
        actions = [r["action"] for r in audit_records(hub, f"tenant#{tenant_id}")]
        assert actions[len(STEPS):] == ["CutAccess", "CloseUsage", "DeleteTenantResources", "OffboardTenant"], actions
    record_property("figures", f"duplicates: {len(requests)} offboarding events for {len(tenants)} tenants, one effect each")


def test_many_tenants_each_updated_three_times_at_once(hub, hub_events, record_property):
    tenants = _onboarded(hub, "dup-changer", 630000000000, 5)
    added = "anthropic.claude-sonnet-4-20250514-v1:0"
    requests = [{"tenant_id": t, "add_models": [added], "budget": {"monthly_limit_usd": 150}, "requested_by": "dup-test"}
                for t in tenants]
    # each event delivered three times at once (same id, as EventBridge redelivers it)
    sfn, machine = hub.client("stepfunctions"), hub.outputs["TenantUpdateStateMachineArn"]
    starts = []
    for request in requests:
        event = {"version": "0", "id": f"dup-update-{request['tenant_id']}", "detail-type": "TenantUpdateRequested",
                 "source": "genai.hub", "account": hub.outputs["HubAccountId"], "time": "2026-12-06T00:00:00Z",
                 "region": hub.region, "resources": [], "detail": request}
        starts += [lambda e=event: sfn.start_execution(stateMachineArn=machine, input=json.dumps(e))] * DELIVERIES
    _concurrently(starts)
    hub.wait_for_executions(timeout=300)

    assert sorted(e["detail"]["tenant_id"] for e in hub_events("TenantUpdated")) == sorted(tenants)
    profiles = application_profiles(hub, "us-east-1")
    for tenant_id in tenants:
        items = registry_items(hub, tenant_id)
        assert f"GRANT#{added}" in items and items["META"]["budget"]["monthly_limit_usd"] == "150"
        assert len([p for p in profiles if p["inferenceProfileName"].startswith(f"{tenant_id}-anthropic-claude-sonnet-4")]) == 1
        actions = [r["action"] for r in audit_records(hub, f"tenant#{tenant_id}") if r["workflow"] == "tenant-update"]
        assert actions == ["ChangeTenantSettings", "AddModels", "UpdateTenant"], actions
    record_property("figures", f"duplicates: {len(starts)} update deliveries for {len(tenants)} tenants, one effect each")


def test_many_models_each_dropped_and_announced_three_times_at_once(hub, research, hub_events, record_property):
    s3, bucket = research
    versions = ["2.0.0", "2.1.0", "2.2.0"]
    files = {**sample_model.files(), "hubsim-answers.json": json.dumps(GOOD).encode()}
    for version in versions:
        for name, body in files.items():
            s3.put_object(Bucket=bucket, Key=f"models/support-bot/{version}/{name}", Body=body)
    manifests = {v: json.dumps(sample_model.manifest("support-bot", v, evaluation_policy="strict-support")).encode() for v in versions}
    # each import.json written three times at once (three Object Created), and each requested by event too
    _concurrently([lambda v=v: sample_model.put_manifest(s3, bucket, f"models/support-bot/{v}/import.json", manifests[v])
                   for v in versions for _ in range(DELIVERIES)]
                  + [lambda v=v: hub.put_event("ModelImportRequested", {"bucket": bucket, "prefix": f"models/support-bot/{v}",
                                                                          "requested_by": "dup-test"}) for v in versions])
    hub.wait_for_executions(timeout=300)
    imported = hub_events("ModelImported")
    assert sorted(e["detail"]["version"] for e in imported) == versions
    # ModelImported delivered three more times each: still one evaluation per version
    _concurrently([lambda e=e: hub.put_event("ModelImported", e["detail"]) for e in imported for _ in range(DELIVERIES)])
    hub.wait_for_executions(timeout=300)

    jobs = hub.client("bedrock").list_model_import_jobs()["modelImportJobSummaries"]
    actions = [r["action"] for r in audit_records(hub, "model#support-bot")]
    for version in versions:
        assert _version(hub, version=version)["status"] == "APPROVED"
        assert len([j for j in jobs if j["jobName"].startswith(f"support-bot-{version.replace('.', '-')}-")]) == 1
    assert actions.count("StartEvaluation") == len(versions)
    assert len(hub_events("ModelPromoted")) == len(versions)
    record_property("figures", f"duplicates: {len(versions) * (DELIVERIES + 1)} import triggers and "
                               f"{len(versions) * DELIVERIES} extra ModelImported for {len(versions)} versions, one job and one evaluation each")


def test_several_retirements_each_requested_three_times_at_once(hub, onboard, hub_events, record_property):
    onboard(tenant_event("acme-retail", "222222222222", 100))
    models = ["amazon.nova-pro-v1", "anthropic.claude-3-5-sonnet-20240620-v1"]
    request = {"tenants": "all", "grace": "PT1S", "successor": None, "reason": "duplicate test", "requested_by": "dup-test"}
    _concurrently([lambda m=m: hub.put_event("ModelRetirementRequested", {**request, "model": m, "version": "0"})
                   for m in models for _ in range(DELIVERIES)])
    hub.wait_for_executions(timeout=180)

    assert sorted(e["detail"]["model_id"] for e in hub_events("ModelRetired")) == sorted(f"{m}:0" for m in models)
    assert len(hub_events("ModelRetirementScheduled")) == len(models)
    actions = [r["action"] for r in audit_records(hub, "tenant#acme-retail")]
    assert (actions.count("ScheduleRetirement"), actions.count("RevokeModelAccess")) == (len(models), len(models))
    assert application_profiles(hub, "us-east-1") == []
    record_property("figures", f"duplicates: {len(models) * DELIVERIES} retirement requests for {len(models)} models, one retirement each")


# --- conflicting operations ---------------------------------------------------------------------

def test_retiring_a_version_while_it_is_evaluated_is_refused_and_audited(hub, research, hub_events):
    s3, bucket = research
    files = {**sample_model.files(), "hubsim-answers.json": json.dumps(GOOD).encode()}
    # the default policy waits for a person: the version is EVALUATING, then AWAITING_APPROVAL
    sample_model.upload(s3, bucket, "models/support-bot/3.0.0", files, sample_model.manifest("support-bot", "3.0.0"))
    deadline = datetime.now(timezone.utc).timestamp() + 120
    while _version(hub, version="3.0.0").get("status") not in ("EVALUATING", "AWAITING_APPROVAL"):
        assert datetime.now(timezone.utc).timestamp() < deadline
        time.sleep(0.2)
    hub.put_event("ModelRetirementRequested", {"model": "support-bot", "version": "3.0.0", "tenants": "all", "grace": "PT1S",
                                               "successor": None, "reason": "conflict test", "requested_by": "dup-test"})
    while [e for e in hub.executions(hub.outputs["RetirementStateMachineArn"]) if e["status"] == "RUNNING"] or \
            not hub.executions(hub.outputs["RetirementStateMachineArn"]):  # the evaluation keeps waiting for its person
        assert datetime.now(timezone.utc).timestamp() < deadline + 120
        time.sleep(0.2)

    [rejected] = hub_events("WorkflowInputRejected")
    assert (rejected["detail"]["workflow"], rejected["detail"]["field"]) == ("model-retirement", "$.version")
    assert _version(hub, version="3.0.0")["status"] in ("EVALUATING", "AWAITING_APPROVAL")
    assert "RejectRetirementRequest" in [r["action"] for r in audit_records(hub, "model#support-bot")]

    # And the evaluation goes on to its person's decision as if nothing had been asked
    while _version(hub, version="3.0.0")["status"] != "AWAITING_APPROVAL":
        assert datetime.now(timezone.utc).timestamp() < deadline + 120
        time.sleep(0.2)
    with acting_as(hub.decider_credentials("dup-test@example.com")):
        assert hubctl(["approve", "support-bot", "3.0.0"]) == 0
    hub.wait_for_executions(timeout=60)
    assert _version(hub, version="3.0.0")["status"] == "APPROVED"


def test_a_duplicate_onboarding_while_the_tenant_is_suspended_changes_nothing(hub, onboard, hub_events):
    event = tenant_event("acme-retail", "222222222222", 1)
    onboard(event)
    profile = registry_items(hub, "acme-retail")["PROFILE#amazon.nova-pro-v1:0"]
    record_usage(hub, profile, datetime(2026, 10, 2, 12, tzinfo=timezone.utc), 1, 2_000_000, 0)
    run = {"as_of": "2026-10-03T00:00:00Z", "requested_by": "dup-test"}
    sfn = hub.client("stepfunctions")
    # the suspension and a late duplicate of the onboarding event at the same time
    _concurrently([lambda: sfn.start_execution(stateMachineArn=hub.outputs["BudgetAlertsStateMachineArn"], input=json.dumps(run)),
                   lambda: hub.put_event("TenantOnboardingRequested", event["detail"])])
    hub.wait_for_executions(timeout=120)

    meta = registry_items(hub, "acme-retail")["META"]
    assert (meta["status"], meta["budget_level"]) == ("SUSPENDED", "RED")
    assert len(hub_events("TenantOnboarded")) == 1
    actions = [r["action"] for r in audit_records(hub, "tenant#acme-retail")]
    assert actions[:len(STEPS)] == STEPS and actions.count("BudgetLevelChanged") == 1 and actions.count("RegisterTenant") == 1
