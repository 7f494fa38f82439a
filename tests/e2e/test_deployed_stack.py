"""End-to-end checks against a deployed stack (`sam deploy`), found through its outputs.

Skipped unless GENAI_HUB_E2E_STACK names a deployed stack and AWS credentials work: the normal test
command never touches a real account. Run: GENAI_HUB_E2E_STACK=genai-hub pytest tests/e2e -m aws
"""
import json
import time
import uuid

import pytest

pytestmark = pytest.mark.aws


def test_outputs_name_every_resource_a_client_needs(deployed):
    for key in ("EventBusName", "RegistryTableName", "AuditTableName", "OnboardingStateMachineArn",
                "ModelImportStateMachineArn", "EvaluationStateMachineArn", "EvaluationBucketName"):
        assert deployed.outputs.get(key), key
    sfn = deployed.client("stepfunctions")
    for key in ("OnboardingStateMachineArn", "ModelImportStateMachineArn", "EvaluationStateMachineArn"):
        assert sfn.describe_state_machine(stateMachineArn=deployed.outputs[key])["status"] == "ACTIVE"


def test_an_invalid_onboarding_event_is_rejected_and_audited(deployed):
    # A rejection creates nothing but an audit record: safe to run against any environment.
    tenant_id = f"e2e-{uuid.uuid4().hex[:8]}"
    detail = {"tenant_id": tenant_id, "display_name": "e2e", "cost_center": "E2E", "data_residency": "mars",
              "spoke": {"account_id": "000000000000", "external_id": "e2e-external-id"}, "default_models": ["amazon.nova-lite-v1:0"],
              "budget": {"monthly_limit_usd": 1}, "requested_by": "e2e-test"}
    deployed.client("events").put_events(Entries=[{"EventBusName": deployed.outputs["EventBusName"], "Source": "genai.hub",
                                                   "DetailType": "TenantOnboardingRequested", "Detail": json.dumps(detail)}])
    from genai_hub import audit

    deadline = time.monotonic() + 120
    while True:
        records = audit.read_all(deployed.outputs["AuditTableName"], deployed.client("dynamodb")).get(f"tenant#{tenant_id}", [])
        if records:
            break
        assert time.monotonic() < deadline, "no rejection audited after 120 s"
        time.sleep(3)
    assert [(r["action"], r["outcome"]) for r in records] == [("RejectInput", "REJECTED")]
    assert json.loads(records[0]["detail"])["field"] == "$.data_residency"


def test_the_audit_trail_verifies(deployed):
    from genai_hub import audit

    streams = audit.read_all(deployed.outputs["AuditTableName"], deployed.client("dynamodb"))
    assert [p for p in (audit.verify_chain(s, r) for s, r in streams.items()) if p] == []


def test_a_budget_run_meters_and_its_schedule_is_enabled(deployed):
    # A run only reads usage and writes the registry's usage items: safe to run in any environment.
    sfn = deployed.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=deployed.outputs["BudgetAlertsStateMachineArn"],
                              input=json.dumps({"requested_by": "e2e-test"}))["executionArn"]
    deadline = time.monotonic() + 600
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the budget run did not finish in 10 minutes"
        time.sleep(5)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["hub"]["level"] in ("GREEN", "YELLOW", "ORANGE", "RED")
    schedules = deployed.client("scheduler").list_schedules()["Schedules"]
    assert any(s["Target"]["Arn"] == deployed.outputs["BudgetAlertsStateMachineArn"] and s["State"] == "ENABLED"
               for s in schedules)
