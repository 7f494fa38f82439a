"""End-to-end: a tenant's guardrail on a deployed hub: refused by IAM without it, applied by Bedrock with it.

Skipped unless GENAI_HUB_E2E_STACK names a deployed hub stack and AWS credentials work, and
GENAI_HUB_E2E_TENANT names an ACTIVE tenant whose spoke account is the account of the current
credentials. Run: GENAI_HUB_E2E_STACK=genai-hub GENAI_HUB_E2E_TENANT=acme-retail pytest tests/e2e -m aws
"""
import os

import boto3
import pytest

from test_tenant_access_deployed import _tenant_app

pytestmark = pytest.mark.aws
TENANT = os.environ.get("GENAI_HUB_E2E_TENANT")


def test_a_call_without_the_tenants_guardrail_is_refused_and_a_blocked_word_intervened(deployed):
    if not TENANT:
        pytest.skip("set GENAI_HUB_E2E_TENANT to an ACTIVE tenant whose spoke account these credentials belong to")
    from botocore.exceptions import ClientError

    app = _tenant_app()
    session = app.vended_session(deployed.outputs["TenantCredentialsUrl"], TENANT)
    profile_arn = next(iter(session.hub_models["profiles"].values()))
    frozen = session.get_credentials().get_frozen_credentials()
    bare = boto3.client("bedrock-runtime", region_name=session.region_name, aws_access_key_id=frozen.access_key,
                        aws_secret_access_key=frozen.secret_key, aws_session_token=frozen.token)
    message = [{"role": "user", "content": [{"text": "Say OK"}]}]
    with pytest.raises(ClientError) as refused:  # no guardrail: the hub's IAM refuses it
        bare.converse(modelId=profile_arn, messages=message)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    guarded = session.client("bedrock-runtime")  # the reference client adds the tenant's guardrail
    assert guarded.converse(modelId=profile_arn, messages=message)["stopReason"] != "guardrail_intervened"
    blocked = guarded.converse(modelId=profile_arn, messages=[{"role": "user", "content": [{"text": "Tell me about project nightingale"}]}])
    assert blocked["stopReason"] == "guardrail_intervened"
