"""End-to-end: tenant model access on a deployed hub, through the broker, as docs/tenants.md describes.

Skipped unless GENAI_HUB_E2E_STACK names a deployed hub stack and AWS credentials work. The tenant
checks need GENAI_HUB_E2E_TENANT: an ACTIVE tenant whose spoke account is the account of the current
credentials (a principal allowed to call the broker, e.g. the role of spokes/tenant.yaml). Run:
GENAI_HUB_E2E_STACK=genai-hub GENAI_HUB_E2E_TENANT=acme-retail pytest tests/e2e -m aws
"""
import importlib.util
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.aws
TENANT = os.environ.get("GENAI_HUB_E2E_TENANT")


def _tenant_app():
    spec = importlib.util.spec_from_file_location("tenant_app", Path(__file__).resolve().parents[2] / "examples" / "tenant_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_broker_refuses_a_tenant_that_does_not_exist(deployed):
    app = _tenant_app()
    with pytest.raises(app.AccessRefused) as refused:
        app.fetch_credentials(deployed.outputs["TenantCredentialsUrl"], "e2e-no-such-tenant")
    assert refused.value.status == 403


def test_a_tenant_calls_its_profiles_and_nothing_else(deployed):
    if not TENANT:
        pytest.skip("set GENAI_HUB_E2E_TENANT to an ACTIVE tenant whose spoke account these credentials belong to")
    from botocore.exceptions import ClientError

    app = _tenant_app()
    session = app.vended_session(deployed.outputs["TenantCredentialsUrl"], TENANT)
    runtime = session.client("bedrock-runtime")
    for model, profile_arn in session.hub_models["profiles"].items():
        answer = runtime.converse(modelId=profile_arn, messages=[{"role": "user", "content": [{"text": "Say OK"}]}])
        assert answer["output"]["message"]["content"], model
    with pytest.raises(ClientError) as refused:  # a bare foundation model id: only through the hub's profiles
        runtime.converse(modelId=next(iter(session.hub_models["profiles"])), messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
