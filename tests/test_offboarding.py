"""Tenant offboarding (issue 18): access cut first, usage closed, profiles and grants deleted, a
tombstone and the tenant's history kept readable; duplicates change nothing; a failure before
deletion gives the tenant its access back."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from conftest import as_operator, application_profiles, audit_records, registry_items, sample
from test_budget import record_usage

ACME = "222222222222"
NOVA = "amazon.nova-pro-v1:0"


@pytest.fixture
def acme(hub, onboard):
    """acme-retail ACTIVE, with its application's vended session."""
    assert [e["status"] for e in onboard(sample("onboarding/acme-retail-us.json"))][-1] == "SUCCEEDED"
    return hub.tenant_session("acme-retail", ACME)


def offboard(hub, tenant_id: str = "acme-retail", *, deliveries: int = 1, **extra) -> list[dict]:
    detail = {"tenant_id": tenant_id, "reason": "line of business closed", "requested_by": "platform-admin@example.com", **extra}
    for _ in range(deliveries):
        hub.put_event("TenantOffboardingRequested", detail)
    hub.wait_for_executions(timeout=120)
    sfn = hub.client("stepfunctions")
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in
            sorted(sfn.list_executions(stateMachineArn=hub.outputs["OffboardingStateMachineArn"])["executions"],
                   key=lambda e: e["startDate"])]


def _converse(session, model_id: str):
    return session.client("bedrock-runtime").converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": "hi"}]}])


def test_offboarding_cuts_access_first_closes_usage_deletes_resources_and_keeps_a_tombstone(hub, acme, hub_events):
    # Given acme-retail calling its model, and usage of today recorded before it leaves
    items = registry_items(hub, "acme-retail")
    profiles = {k[len("PROFILE#"):]: v for k, v in items.items() if k.startswith("PROFILE#")}
    assert _converse(acme, profiles[NOVA]["profile_arn"])["output"]["message"]["content"][0]["text"]
    now = datetime.now(timezone.utc)
    record_usage(hub, profiles[NOVA], now - timedelta(minutes=20), 10, 1_000_000, 100_000)

    # When it is offboarded
    executions = offboard(hub)

    # Then the workflow succeeded and the tenant's next call is refused, even with the session it had
    assert [e["status"] for e in executions] == ["SUCCEEDED"], executions[-1].get("cause")
    with pytest.raises(ClientError) as refused:
        _converse(acme, profiles[NOVA]["profile_arn"])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    # its profiles and grants are gone, in Bedrock and in the registry
    after = registry_items(hub, "acme-retail")
    assert not [k for k in after if k.startswith(("PROFILE#", "GRANT#"))]
    assert not [p for p in application_profiles(hub, "us-east-1") if "acme-retail" in p["inferenceProfileName"]]
    # the tombstone says who, when, why, what it spent and what was deleted
    meta = after["META"]
    assert meta["status"] == "OFFBOARDED" and meta["offboarded_by"] == "platform-admin@example.com"
    assert meta["offboarded_reason"] == "line of business closed" and meta["offboarded_at"]
    tombstone = meta["tombstone"]
    assert tombstone["cost_center"] == items["META"]["cost_center"] and tombstone["display_name"] == items["META"]["display_name"]
    assert sorted(tombstone["deleted"]["profiles"]) == sorted(p["profile_arn"] for p in profiles.values())
    assert sorted(tombstone["deleted"]["grants"]) == sorted(profiles)
    # usage was closed up to the cut, and is kept: the month's spend is the tombstone's final spend
    usage = after[f"USAGE#{tombstone['month']}"]
    assert float(tombstone["final_month_to_date_usd"]) > 0
    assert str(usage["month_to_date_usd"]) == tombstone["final_month_to_date_usd"]
    # the audit stream tells the story in order and its chain verifies
    actions = [r["action"] for r in audit_records(hub, "tenant#acme-retail")]
    tail = [a for a in actions if a in ("CutAccess", "CloseUsage", "DeleteTenantResources", "OffboardTenant")]
    assert tail == ["CutAccess", "CloseUsage", "DeleteTenantResources", "OffboardTenant"]
    from genai_hub import audit

    assert audit.verify_chain("tenant#acme-retail", audit_records(hub, "tenant#acme-retail")) is None
    # and TenantOffboarded was emitted with the tombstone's figures
    [event] = hub_events("TenantOffboarded")
    assert event["detail"]["final_month_to_date_usd"] == tombstone["final_month_to_date_usd"]
    assert event["detail"]["deleted"] == tombstone["deleted"]
    from genai_hub import schemas

    schemas.validate_detail("TenantOffboarded", event["detail"])


def test_a_duplicate_offboarding_changes_nothing_and_a_dry_run_changes_nothing(hub, acme):
    # A dry run says what would go and leaves everything as it was
    [dry] = offboard(hub, dry_run=True)
    assert dry["status"] == "SUCCEEDED"
    plan = json.loads(dry["output"])["plan"]
    assert sorted(plan["grants"]) == sorted(k[len("GRANT#"):] for k in registry_items(hub, "acme-retail") if k.startswith("GRANT#"))
    assert registry_items(hub, "acme-retail")["META"]["status"] == "ACTIVE"

    # The same request delivered twice: one offboarding
    executions = offboard(hub, deliveries=2)
    assert [e["status"] for e in executions].count("SUCCEEDED") == 3
    actions = [r["action"] for r in audit_records(hub, "tenant#acme-retail")]
    assert actions.count("OffboardTenant") == 1 and actions.count("CutAccess") == 1


@pytest.mark.parametrize("request_detail, says", [
    ({"tenant_id": "nobody-here"}, "no tenant 'nobody-here'"),
    ({"tenant_id": "acme-retail", "reason": ""}, "$.reason"),
    ({"tenant_id": "acme-retail", "surprise": True}, "surprise"),
])
def test_a_bad_offboarding_request_is_rejected_naming_the_field_and_audited(hub, acme, request_detail, says):
    detail = {"reason": "r", "requested_by": "platform-admin@example.com", **request_detail}
    hub.put_event("TenantOffboardingRequested", detail)
    hub.wait_for_executions(timeout=120)
    sfn = hub.client("stepfunctions")
    [execution] = sfn.list_executions(stateMachineArn=hub.outputs["OffboardingStateMachineArn"])["executions"]
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert described["status"] == "FAILED" and described["error"] == "InputRejected"
    assert registry_items(hub, "acme-retail")["META"]["status"] == "ACTIVE"
    stream = "tenant#acme-retail" if request_detail.get("tenant_id") == "acme-retail" else "rejected#tenant-offboarding"
    [rejection] = [json.loads(r["detail"]) for r in audit_records(hub, stream) if r["action"] == "RejectInput"]
    assert says in rejection["reason"] or says in rejection["field"], rejection


def test_offboarding_during_a_retirements_grace_period_wins_and_the_retirement_skips_the_tenant(hub, acme, hub_events):
    # Given a retirement of acme-retail's model waiting for its date, a few seconds away
    from test_retirement import retire, retirement_records, wait_until

    started = retire(hub, wait=False, model=NOVA.rsplit(":", 1)[0], version="0", grace="PT8S")
    [record] = wait_until(lambda: [r for r in retirement_records(hub, NOVA) if r["status"] == "SCHEDULED"], what="SCHEDULED")
    # When acme-retail is offboarded before that date
    hub.put_event("TenantOffboardingRequested", {"tenant_id": "acme-retail", "reason": "leaving", "requested_by": "admin@example.com"})
    sfn = hub.client("stepfunctions")
    offboarding = wait_until(lambda: [e for e in sfn.list_executions(stateMachineArn=hub.outputs["OffboardingStateMachineArn"])["executions"]
                                      if e["status"] != "RUNNING"], what="offboarding ended")[0]
    assert offboarding["status"] == "SUCCEEDED"
    assert offboarding["stopDate"] < datetime.fromisoformat(record["retire_at"].replace("Z", "+00:00"))
    hub.wait_for_executions(timeout=120)

    # Then the retirement still completes, and does nothing more to the offboarded tenant
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] == "SUCCEEDED"
    assert [r["status"] for r in retirement_records(hub, NOVA)] == ["COMPLETED"]
    items = registry_items(hub, "acme-retail")
    assert items["META"]["status"] == "OFFBOARDED" and not [k for k in items if k.startswith(("PROFILE#", "GRANT#"))]
    actions = [r["action"] for r in audit_records(hub, "tenant#acme-retail")]
    assert actions[-1] == "OffboardTenant", actions
    assert not hub_events("ModelRetired") or all(e["detail"].get("tenant_id") != "acme-retail" for e in hub_events("ModelRetired"))


def test_hubctl_offboards_with_a_dry_run_then_for_real_and_the_tenant_stays_readable(hub, acme, capsys):
    from hubctl.cli import main as hubctl

    # A dry run lists what would go, and changes nothing
    assert as_operator(hub, ["tenants", "offboard", "acme-retail", "--reason", "contract ended", "--dry-run"]) == 0
    said = capsys.readouterr().out
    assert "would cut its access" in said and "2 profile(s)" in said and "nothing was changed" in said
    assert registry_items(hub, "acme-retail")["META"]["status"] == "ACTIVE"
    # The real one says what it did
    assert as_operator(hub, ["tenants", "offboard", "acme-retail", "--reason", "contract ended", "--wait"]) == 0
    said = capsys.readouterr().out
    assert "offboarded acme-retail" in said and "final spend" in said and "2 profile(s)" in said
    # and the offboarded tenant is still shown, with its usage and audit
    assert hubctl(["tenants", "show", "acme-retail", "--output", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "OFFBOARDED" and shown["tombstone"]["deleted"]["grants"]
    assert hubctl(["tenants", "show", "acme-retail"]) == 0
    table = capsys.readouterr().out
    assert "OFFBOARDED" in table and "contract ended" in table and "final spend" in table
    assert hubctl(["usage", "--tenant", "acme-retail", "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "OFFBOARDED"
    assert hubctl(["audit", "show", "--tenant", "acme-retail", "--output", "json"]) == 0
    assert [r["action"] for r in json.loads(capsys.readouterr().out)][-1] == "OffboardTenant"
    # A second offboarding is a no-op that says so; an unknown tenant is rejected naming it
    assert as_operator(hub, ["tenants", "offboard", "acme-retail", "--reason", "again", "--wait"]) == 0
    assert "already OFFBOARDED" in capsys.readouterr().out
    assert as_operator(hub, ["tenants", "offboard", "nobody-here", "--reason", "x", "--wait"]) == 2
    assert "no tenant 'nobody-here'" in capsys.readouterr().err


def test_an_offboarded_tenant_is_onboarded_again_by_a_new_request_and_never_by_a_replayed_one(hub, onboard, acme):
    # Given acme-retail offboarded, after the onboarding event that created it
    first_event = sample("onboarding/acme-retail-us.json")["detail"]
    assert [e["status"] for e in offboard(hub)] == ["SUCCEEDED"]
    lock = registry_items(hub, "acme-retail")["LOCK"]
    assert lock["reopened"] is True and len(lock["event_ids"]) == 1

    # When the old onboarding event is replayed (same event id, as EventBridge redelivers it)
    sfn = hub.client("stepfunctions")
    machine = hub.outputs["OnboardingStateMachineArn"]
    [original] = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
    replayed = sfn.start_execution(stateMachineArn=machine, input=sfn.describe_execution(executionArn=original["executionArn"])["input"])
    hub.wait_for_executions(timeout=120)
    # Then it changes nothing: the tenant stays OFFBOARDED
    assert sfn.describe_execution(executionArn=replayed["executionArn"])["status"] == "SUCCEEDED"
    assert registry_items(hub, "acme-retail")["META"]["status"] == "OFFBOARDED"

    # When a new onboarding request for the same id is sent on purpose
    first_event["requested_by"] = "platform-admin@example.com (back again)"
    assert [e["status"] for e in onboard({"detail-type": "TenantOnboardingRequested", "detail": first_event})][-1] == "SUCCEEDED"
    # Then it is ACTIVE again with new profiles, its last chapter's tombstone kept, and it can call its model
    items = registry_items(hub, "acme-retail")
    assert items["META"]["status"] == "ACTIVE" and len(items["META"]["chapters"]) == 1
    assert items["META"]["chapters"][0]["tombstone"]["deleted"]["grants"]
    session = hub.tenant_session("acme-retail", ACME)
    assert _converse(session, items[f"PROFILE#{NOVA}"]["profile_arn"])["output"]["message"]["content"][0]["text"]
    # and the audit stream goes on as one chain: a new chapter after the offboarding
    records = audit_records(hub, "tenant#acme-retail")
    actions = [r["action"] for r in records]
    assert actions.index("OffboardTenant") < len(actions) - 1 and actions[actions.index("OffboardTenant") + 1] == "RegisterTenant"
    assert json.loads(records[actions.index("OffboardTenant") + 1]["detail"])["chapter"] == 2
    from genai_hub import audit

    assert audit.verify_chain("tenant#acme-retail", records) is None
