"""Model retirement on the local engine: notice, grace period, cancellation, revocation, deletion."""
import copy
import json
import time

import pytest
from botocore.exceptions import ClientError
from conftest import application_profiles, audit_records, registry_items, sample
from test_evaluation import GOOD, _import, _version, research  # noqa: F401 (research is a fixture)

from genai_hub import audit

NOVA = "amazon.nova-pro-v1"


def second_us_tenant() -> dict:
    """A second US tenant in its own spoke account, holding the same foundation models as acme-retail."""
    event = sample("onboarding/acme-retail-us.json")
    event["detail"].update(tenant_id="corvid-labs", display_name="Corvid Labs (US)", cost_center="CC-2077",
                           spoke={"account_id": "555555555555", "external_id": "corvid-labs-5b8e21d4"})
    return event


def retire(hub, wait: bool = True, **request) -> dict:
    """Start a retirement with start-execution (the admin's direct path) and return its description."""
    body = {"tenants": "all", "grace": "PT1S", "successor": None, "reason": "end of life",
            "requested_by": "platform-admin@example.com", **request}
    body = {k: v for k, v in body.items() if not (k == "grace" and v is None)}
    sfn = hub.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=hub.outputs["RetirementStateMachineArn"], input=json.dumps(body))["executionArn"]
    if wait:
        hub.wait_for_executions(timeout=120)
    return sfn.describe_execution(executionArn=arn)


def states_entered(hub, execution_arn: str) -> list[str]:
    events = hub.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def retirement_records(hub, model_id: str) -> list[dict]:
    from genai_hub.registry import from_item

    items = hub.client("dynamodb").query(
        TableName=hub.outputs["RegistryTableName"], KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
        ExpressionAttributeValues={":pk": {"S": f"MODEL#{model_id}"}, ":r": {"S": "RETIREMENT#"}}, ConsistentRead=True)["Items"]
    return [from_item(i) for i in items]


def call(app, model_id: str) -> str:
    """One Converse call of a tenant application: "" when answered, else the error code."""
    try:
        app.client("bedrock-runtime").converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        return ""
    except ClientError as error:
        return error.response["Error"]["Code"]


def access_tags(hub) -> dict:
    """Each application profile's `genai-hub:access` tag, by ARN."""
    bedrock = hub.client("bedrock")
    return {p["inferenceProfileArn"]: {t["key"]: t["value"] for t in bedrock.list_tags_for_resource(
        resourceARN=p["inferenceProfileArn"])["tags"]}.get("genai-hub:access") for p in application_profiles(hub, "us-east-1")}


def started_running(hub) -> dict:
    """The one retirement execution waiting for its date."""
    [waiting] = [e for e in hub.executions() if e["status"] == "RUNNING" and ":genai-hub-retirement:" in e["executionArn"]]
    return waiting


def wait_until(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"{what} not reached after {timeout}s"
        time.sleep(0.1)
    return found


def test_imported_model_retired_for_one_tenant_then_for_all(hub, onboard, research, hub_events):
    # Given support-bot 1.0.0 promoted (strict policy, no approval) to two US tenants
    onboard(sample("onboarding/acme-retail-us.json"))
    onboard(second_us_tenant())
    _import(hub, research, GOOD, policy="strict-support", tenants=["acme-retail", "corvid-labs"])
    version = _version(hub)
    assert version["status"] == "APPROVED"
    arn = version["imported_model_arn"]
    # and both tenants' applications calling it with the credentials the broker vended them
    apps = {"acme-retail": hub.tenant_session("acme-retail", "222222222222"),
            "corvid-labs": hub.tenant_session("corvid-labs", "555555555555")}
    assert {t: call(app, arn) for t, app in apps.items()} == {"acme-retail": "", "corvid-labs": ""}

    # When it is retired for corvid-labs only, with a successor
    done = retire(hub, model="support-bot", version="1.0.0", tenants=["corvid-labs"], successor="support-bot:2.0.0",
                  reason="billing answers improved in 2.0.0")

    # Then corvid-labs was told, with the date and the successor, and lost the grant and the role permission
    assert done["status"] == "SUCCEEDED", done
    [notice] = hub_events("ModelRetirementScheduled")
    assert notice["detail"]["tenant_id"] == "corvid-labs"
    assert (notice["detail"]["successor"], notice["detail"]["reason"]) == ("support-bot:2.0.0", "billing answers improved in 2.0.0")
    assert "GRANT#support-bot:1.0.0" not in registry_items(hub, "corvid-labs")
    assert call(apps["corvid-labs"], arn) == "AccessDeniedException"  # with the credentials it had
    assert "support-bot:1.0.0" not in hub.tenant_session("corvid-labs", "555555555555").hub_models["imported_models"]
    # while acme-retail keeps it, and the imported model stays in Bedrock, APPROVED
    assert "GRANT#support-bot:1.0.0" in registry_items(hub, "acme-retail")
    assert call(apps["acme-retail"], arn) == ""
    assert _version(hub)["status"] == "APPROVED"
    bedrock = hub.client("bedrock")
    assert [m["modelArn"] for m in bedrock.list_imported_models()["modelSummaries"]] == [arn]
    [partial] = hub_events("ModelRetired")
    assert (partial["detail"]["status"], partial["detail"]["tenants_remaining"]) == ("RETIRED_FOR_SCOPE", 1)
    assert partial["detail"]["imported_model_deleted"] is False

    # When it is retired for all
    done = retire(hub, model="support-bot", version="1.0.0", tenants="all")

    # Then no tenant keeps it, the imported model is deleted and the version RETIRED
    assert done["status"] == "SUCCEEDED", done
    assert "GRANT#support-bot:1.0.0" not in registry_items(hub, "acme-retail")
    assert call(apps["acme-retail"], arn) == "AccessDeniedException"
    assert bedrock.list_imported_models()["modelSummaries"] == []
    assert _version(hub)["status"] == "RETIRED"
    full = hub_events("ModelRetired")[-1]["detail"]
    assert (full["status"], full["tenants_revoked"], full["imported_model_deleted"]) == ("RETIRED", 1, True)
    # and everything is audited: the model's stream and each tenant's
    model_actions = [(r["action"], r["outcome"]) for r in audit_records(hub, "model#support-bot")]
    assert model_actions[-6:] == [("PlanRetirement", "PLANNED"), ("ScheduleRetirement", "SCHEDULED"), ("RetireModel", "RETIRED_FOR_SCOPE"),
                                  ("PlanRetirement", "PLANNED"), ("ScheduleRetirement", "SCHEDULED"), ("RetireModel", "RETIRED")]
    for tenant in ("acme-retail", "corvid-labs"):
        assert [r["action"] for r in audit_records(hub, f"tenant#{tenant}") if r["action"] != "VendCredentials"][-2:] == ["ScheduleRetirement", "RevokeModelAccess"]

    # When the same retirement is asked again
    before = len(audit_records(hub, "model#support-bot"))
    again = retire(hub, model="support-bot", version="1.0.0", tenants="all")

    # Then nothing changes
    assert again["status"] == "SUCCEEDED" and states_entered(hub, again["executionArn"])[-1] == "Nothing to do"
    assert "AlreadyRetired" in again["output"]
    assert len(audit_records(hub, "model#support-bot")) == before


def test_dry_run_reports_the_impact_and_changes_nothing(hub, onboard, hub_events):
    onboard(sample("onboarding/acme-retail-us.json"))
    onboard(second_us_tenant())
    table, audit_table = hub.outputs["RegistryTableName"], hub.outputs["AuditTableName"]
    ddb = hub.client("dynamodb")
    before = (ddb.scan(TableName=table)["Items"], audit.read_all(audit_table, ddb), application_profiles(hub, "us-east-1"))
    emitted = len(hub_events())

    done = retire(hub, model=NOVA, version="0", tenants="all", grace="P14D", dry_run=True)

    impact = json.loads(done["output"])
    assert done["status"] == "SUCCEEDED"
    assert (impact["dry_run"], impact["tenants"], impact["tenant_count"], impact["profile_count"]) == (
        True, ["acme-retail", "corvid-labs"], 2, 2)
    assert impact["tenants_remaining"] == 0 and impact["would_delete_imported_model"] is False
    assert impact["retire_at"] > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 13 * 86400))
    after = (ddb.scan(TableName=table)["Items"], audit.read_all(audit_table, ddb), application_profiles(hub, "us-east-1"))
    assert after == before
    assert len(hub_events()) == emitted


def test_cancellation_during_the_wait_restores_everything(hub, onboard, hub_events):
    onboard(sample("onboarding/acme-retail-us.json"))
    grant_before = registry_items(hub, "acme-retail")[f"GRANT#{NOVA}:0"]
    tags_before = access_tags(hub)
    profiles_before = application_profiles(hub, "us-east-1")

    # Given a retirement for all in a week, waiting for its date
    started = retire(hub, wait=False, model=NOVA, version="0", grace="P7D", successor="amazon.nova-premier-v1:0")
    [record] = wait_until(lambda: [r for r in retirement_records(hub, f"{NOVA}:0") if r["status"] == "SCHEDULED"],
                          what="retirement SCHEDULED")
    grant = registry_items(hub, "acme-retail")[f"GRANT#{NOVA}:0"]
    assert (grant["status"], grant["retire_at"], grant["successor"]) == ("RETIRING", record["retire_at"], "amazon.nova-premier-v1:0")
    # and no new grant of it in scope meanwhile: a tenant onboarded with it now fails, naming the model
    newcomer = second_us_tenant()
    hub.deploy_tenant_spoke("555555555555")
    hub.put_event(newcomer["detail-type"], newcomer["detail"])
    wait_until(lambda: registry_items(hub, "corvid-labs").get("META", {}).get("status") == "FAILED"
               and [e for e in hub.executions() if e["status"] == "RUNNING"] == [started_running(hub)], what="onboarding ended")
    meta = registry_items(hub, "corvid-labs")["META"]
    assert (meta["status"], meta["failure_error"]) == ("FAILED", "ModelRetiring")
    assert "amazon.nova-pro-v1:0 is retiring" in meta["failure_reason"] and "amazon.nova-premier-v1:0" in meta["failure_reason"]

    # When an admin cancels it
    hub.client("stepfunctions").send_task_failure(taskToken=record["task_token"], error="RetirementCancelled",
                                                  cause=json.dumps({"cancelled_by": "cto@example.com", "reason": "customer contract extended"}))
    hub.wait_for_executions(timeout=60)

    # Then the execution ends cleanly and everything is as it was
    done = hub.client("stepfunctions").describe_execution(executionArn=started["executionArn"])
    assert done["status"] == "SUCCEEDED" and states_entered(hub, done["executionArn"])[-1] == "Cancelled"
    grant = registry_items(hub, "acme-retail")[f"GRANT#{NOVA}:0"]
    assert grant["status"] == "ACTIVE" and grant.get("retire_at") is None and grant.get("retirement_id") is None
    assert {k: v for k, v in grant.items() if k not in ("status", "retire_at", "retirement_id", "successor", "updated_at")} == \
        {k: v for k, v in grant_before.items() if k != "updated_at"}
    assert access_tags(hub) == tags_before and set(tags_before.values()) == {"granted"}
    assert application_profiles(hub, "us-east-1") == profiles_before
    [record] = retirement_records(hub, f"{NOVA}:0")
    assert (record["status"], record["ended_by"], record["end_reason"]) == ("CANCELLED", "cto@example.com", "customer contract extended")
    [cancelled] = hub_events("ModelRetirementCancelled")
    assert (cancelled["detail"]["tenant_id"], cancelled["detail"]["cancelled_by"]) == ("acme-retail", "cto@example.com")
    assert [r["action"] for r in audit_records(hub, "tenant#acme-retail")][-2:] == ["ScheduleRetirement", "CancelRetirement"]
    assert [r["action"] for r in audit_records(hub, f"model#{NOVA}")][-1] == "CancelRetirement"
    # and the model may be granted again: the same tenant onboards once more
    newcomer["detail"]["requested_by"] = "platform-admin@example.com (retry)"
    onboard(newcomer)
    assert registry_items(hub, "corvid-labs")["META"]["status"] == "ACTIVE"


def test_a_request_delivered_three_times_at_once_retires_once(hub, onboard, hub_events):
    onboard(sample("onboarding/acme-retail-us.json"))
    onboard(second_us_tenant())
    request = sample("retirement/retire-support-bot-all.json")["detail"]
    request.update(model=NOVA, version="0", grace="PT1S", successor=None)

    for _ in range(3):
        hub.put_event("ModelRetirementRequested", copy.deepcopy(request))
    executions = hub.wait_for_executions(timeout=120)

    retirements = [e for e in executions if ":genai-hub-retirement:" in e["executionArn"]]
    ends = sorted(states_entered(hub, e["executionArn"])[-1] for e in retirements)
    assert ends == ["Nothing to do", "Nothing to do", "Retired"]
    assert len(hub_events("ModelRetirementScheduled")) == 2 and len(hub_events("ModelRetired")) == 1
    for tenant in ("acme-retail", "corvid-labs"):
        actions = [r["action"] for r in audit_records(hub, f"tenant#{tenant}")]
        assert (actions.count("ScheduleRetirement"), actions.count("RevokeModelAccess")) == (1, 1)
        assert f"GRANT#{NOVA}:0" not in registry_items(hub, tenant)
    assert [r["action"] for r in audit_records(hub, f"model#{NOVA}")].count("PlanRetirement") == 1
    assert not [p for p in application_profiles(hub, "us-east-1") if "nova-pro" in p["inferenceProfileName"]]


@pytest.mark.parametrize("change, field", [
    ({"grace": "P30D", "at": "2027-01-01T00:00:00Z"}, "$.at"),
    ({"at": "2020-01-01T00:00:00Z"}, "$.at"),
    ({"grace": "P400D"}, "$.grace"),
    ({"tenants": []}, "$.tenants"),
    ({"version": "9.9.9"}, "$.model"),
])
def test_a_bad_request_is_rejected_naming_the_field_and_audited(hub, onboard, hub_events, change, field):
    onboard(sample("onboarding/acme-retail-us.json"))
    request = {"model": NOVA, "version": "0", "tenants": "all", "grace": "PT1S", "reason": "r", "requested_by": "admin@example.com"}
    request.update(change)
    if "at" in change and "grace" not in change:
        request["grace"] = None

    done = retire(hub, **request)

    assert done["status"] == "FAILED" and done["error"] == "InputRejected"
    [rejected] = hub_events("WorkflowInputRejected")
    assert rejected["detail"]["field"] == field and rejected["detail"]["workflow"] == "model-retirement"
    [record] = [r for r in audit_records(hub, f"model#{NOVA}") if r["action"] == "RejectRetirementRequest"]
    assert json.loads(record["detail"])["field"] == field
    assert f"GRANT#{NOVA}:0" in registry_items(hub, "acme-retail")  # nothing was changed


@pytest.mark.parametrize("text, seconds", [("P30D", 30 * 86400), ("PT90S", 90), ("P1DT12H", 129600), ("PT1H30M", 5400)])
def test_grace_periods_are_iso_8601_days_to_seconds(text, seconds):
    from genai_hub.retirement import parse_duration

    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["P", "PT", "P1M", "P1Y", "30D", "P1DT", "PT-5S", ""])
def test_a_grace_period_that_is_not_days_to_seconds_names_the_field(text):
    from genai_hub.errors import InvalidInput
    from genai_hub.retirement import parse_duration

    with pytest.raises(InvalidInput) as raised:
        parse_duration(text)
    assert raised.value.field == "$.grace" and "P30D" in str(raised.value)


def test_a_partial_retirement_of_a_rejected_version_keeps_its_imported_model(hub, onboard, research):
    # Given a version the gate rejected: nobody holds it, it stays in Bedrock for a re-evaluation
    from test_evaluation import BAD

    onboard(sample("onboarding/acme-retail-us.json"))
    _import(hub, research, BAD, tenants=["acme-retail"])
    assert _version(hub)["status"] == "REJECTED"

    # When it is retired for one tenant only
    done = retire(hub, model="support-bot", version="1.0.0", tenants=["acme-retail"])

    # Then that tenant may never be granted it, but the model stays: other tenants may still get it
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["retired"]["status"] == "RETIRED_FOR_SCOPE"
    assert _version(hub)["status"] == "REJECTED"
    assert len(hub.client("bedrock").list_imported_models()["modelSummaries"]) == 1
    [record] = retirement_records(hub, "support-bot:1.0.0")
    assert (record["status"], record["imported_model_deleted"]) == ("COMPLETED", False)


def test_a_dry_run_of_a_model_the_hub_does_not_know_is_rejected_as_the_real_run(hub, hub_events):
    # A dry run answered "0 tenants" for a typo, while the real run rejected it: both are rejections now
    for dry_run in (True, False):
        done = retire(hub, model="amazon.nova-typo-v1", version="0", dry_run=dry_run)
        assert (done["status"], done.get("error")) == ("FAILED", "InputRejected"), dry_run
    rejections = hub_events("WorkflowInputRejected")
    assert [r["detail"]["field"] for r in rejections] == ["$.model", "$.model"]
    assert all("no imported version amazon.nova-typo-v1:0" in r["detail"]["reason"] for r in rejections)
