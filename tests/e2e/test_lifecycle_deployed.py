"""Tenant lifecycle against a deployed stack: a disposable tenant onboarded, updated and offboarded.

Skipped unless GENAI_HUB_E2E_STACK names a deployed stack and AWS credentials work (tests/conftest.py
`deployed`). It creates one application inference profile per model in the hub account and deletes
it again by offboarding; set GENAI_HUB_E2E_SPOKE_ACCOUNT to an account id of your organisation (the
tenant's spoke: nothing is created there). Run: GENAI_HUB_E2E_STACK=genai-hub pytest tests/e2e -m aws
"""
import json
import os
import time
import uuid

import pytest

pytestmark = pytest.mark.aws
MODEL, ADDED = "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"


def _put(deployed, detail_type: str, detail: dict) -> None:
    entry = deployed.client("events").put_events(Entries=[{
        "EventBusName": deployed.outputs["EventBusName"], "Source": "genai.hub", "DetailType": detail_type, "Detail": json.dumps(detail)}])
    assert entry["FailedEntryCount"] == 0, entry


def _meta(deployed, tenant_id: str) -> dict:
    from genai_hub.registry import from_item

    item = deployed.client("dynamodb").get_item(TableName=deployed.outputs["RegistryTableName"], ConsistentRead=True,
                                                Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": "META"}}).get("Item")
    return from_item(item) if item else {}


def _wait_for(deployed, tenant_id: str, check, what: str, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while not check(meta := _meta(deployed, tenant_id)):
        assert time.monotonic() < deadline, f"{tenant_id}: {what} not reached after {timeout:g}s (status {meta.get('status')})"
        time.sleep(5)
    return meta


def test_a_disposable_tenant_is_onboarded_updated_and_offboarded(deployed):
    spoke = os.environ.get("GENAI_HUB_E2E_SPOKE_ACCOUNT")
    if not spoke:
        pytest.skip("set GENAI_HUB_E2E_SPOKE_ACCOUNT to an account id for the disposable tenant's spoke")
    tenant_id = f"e2e-{uuid.uuid4().hex[:8]}"
    _put(deployed, "TenantOnboardingRequested", {
        "tenant_id": tenant_id, "display_name": "e2e lifecycle", "cost_center": "E2E", "data_residency": "us",
        "spoke": {"account_id": spoke}, "default_models": [MODEL], "budget": {"monthly_limit_usd": 1}, "requested_by": "e2e-test"})
    _wait_for(deployed, tenant_id, lambda m: m.get("status") == "ACTIVE", "ACTIVE")

    _put(deployed, "TenantUpdateRequested", {"tenant_id": tenant_id, "add_models": [ADDED], "budget": {"monthly_limit_usd": 2},
                                             "cost_center": "E2E-2", "requested_by": "e2e-test"})
    meta = _wait_for(deployed, tenant_id, lambda m: m.get("cost_center") == "E2E-2" and not (m.get("tenant_update") or {}).get("execution"),
                     "the update applied")
    assert meta["budget"]["monthly_limit_usd"] == "2"

    _put(deployed, "TenantOffboardingRequested", {"tenant_id": tenant_id, "reason": "e2e clean-up", "requested_by": "e2e-test"})
    meta = _wait_for(deployed, tenant_id, lambda m: m.get("status") == "OFFBOARDED", "OFFBOARDED")
    assert sorted(meta["tombstone"]["deleted"]["grants"]) == sorted([MODEL, ADDED])
    bedrock = deployed.client("bedrock")
    for arn in meta["tombstone"]["deleted"]["profiles"]:
        with pytest.raises(bedrock.exceptions.ResourceNotFoundException):
            bedrock.get_inference_profile(inferenceProfileIdentifier=arn)
