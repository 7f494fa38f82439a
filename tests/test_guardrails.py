"""Guardrails per tenant (issue 20): the hub's guardrails from the template, one per tenant, enforced by
IAM through `bedrock:GuardrailIdentifier`, applied by Bedrock to the prompt and the answer."""
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import audit_records, registry_items, sample

from hubsim import faults
from hubsim.engine import tenant_app

ACME, GLOBEX = "222222222222", "777777777777"
NOVA, LITE = "amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0"
STOCKS = "Which stocks should I buy with my savings this year?"


@pytest.fixture
def tenants(hub, onboard):
    """acme-retail (the default guardrail, standard) and globex-support (strict), both ACTIVE."""
    for name in ("acme-retail-us.json", "globex-support-us.json"):
        assert [e["status"] for e in onboard(sample(f"onboarding/{name}"))][-1] == "SUCCEEDED"
    return {t: registry_items(hub, t) for t in ("acme-retail", "globex-support")}


def _bare_runtime(hub, session):
    """bedrock-runtime with the vended session's credentials but without the reference client's hook:
    what a tenant's own code sends when it forgets the guardrail."""
    frozen = session.get_credentials().get_frozen_credentials()
    return boto3.client("bedrock-runtime", region_name=hub.region, aws_access_key_id=frozen.access_key,
                        aws_secret_access_key=frozen.secret_key, aws_session_token=frozen.token)


def _ask(runtime, model_id: str, text: str, **extra) -> dict:
    return runtime.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": text}]}], **extra)


def _guardrails(hub) -> dict:
    """{name: (ARN, version)} of the hub's guardrails, read back from Bedrock through the stack."""
    bedrock = hub.client("bedrock")
    found = {}
    for summary in bedrock.list_guardrails()["guardrails"]:
        versions = [g for g in bedrock.list_guardrails(guardrailIdentifier=summary["id"])["guardrails"] if g["version"] != "DRAFT"]
        found[summary["name"].rsplit("-", 1)[-1]] = (summary["arn"], max(versions, key=lambda g: int(g["version"]))["version"])
    return found


def test_a_call_without_the_tenants_guardrail_is_refused_by_iam_and_with_it_answered(hub, tenants):
    # Given acme-retail's application with hub credentials (its guardrail: the hub's default, standard)
    session = hub.tenant_session("acme-retail", ACME)
    profile = tenants["acme-retail"][f"PROFILE#{NOVA}"]["profile_arn"]
    guardrails = _guardrails(hub)
    assert session.hub_models["Guardrail"] == {"name": "standard", "guardrailIdentifier": guardrails["standard"][0],
                                               "guardrailVersion": guardrails["standard"][1]}
    bare = _bare_runtime(hub, session)

    # When it calls its profile without a guardrail, with the strict one (not its own) and with its own
    with pytest.raises(ClientError) as without:
        _ask(bare, profile, "hello")
    strict_arn, strict_version = guardrails["strict"]
    with pytest.raises(ClientError) as other:
        _ask(bare, profile, "hello", guardrailConfig={"guardrailIdentifier": strict_arn, "guardrailVersion": strict_version})
    answered = _ask(bare, profile, "hello", guardrailConfig=tenant_app().guardrail_config(session.hub_models))

    # Then IAM refuses the first two (the role needs a hub guardrail, the session policy the tenant's own)
    for refused in (without, other):
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "bedrock:InvokeModel" in refused.value.response["Error"]["Message"]
    # and the third is answered by the model, the guardrail letting it through
    assert answered["stopReason"] != "guardrail_intervened" and answered["output"]["message"]["content"][0]["text"]
    # the reference client carries the guardrail on its own
    assert _ask(session.client("bedrock-runtime"), profile, "hello")["stopReason"] != "guardrail_intervened"


def test_the_strict_guardrail_intervenes_on_a_denied_topic_the_standard_one_on_a_blocked_word(hub, tenants):
    # Given globex-support on the strict guardrail and acme-retail on the standard one
    globex = hub.tenant_session("globex-support", GLOBEX).client("bedrock-runtime")
    acme = hub.tenant_session("acme-retail", ACME).client("bedrock-runtime")
    globex_profile = tenants["globex-support"][f"PROFILE#{LITE}"]["profile_arn"]
    acme_profile = tenants["acme-retail"][f"PROFILE#{NOVA}"]["profile_arn"]
    strict = hub.client("bedrock").get_guardrail(guardrailIdentifier=_guardrails(hub)["strict"][0])

    # When globex-support asks for investment advice, with the guardrail's trace
    session = hub.tenant_session("globex-support", GLOBEX)
    traced = _ask(globex, globex_profile, STOCKS,
                  guardrailConfig={**tenant_app().guardrail_config(session.hub_models), "trace": "enabled"})

    # Then the guardrail intervenes: its message instead of the model's answer, the topic named in the trace
    assert traced["stopReason"] == "guardrail_intervened"
    assert traced["output"]["message"]["content"][0]["text"] == strict["blockedInputMessaging"]
    assessments = traced["trace"]["guardrail"]["inputAssessment"]
    topics = [t["name"] for a in assessments.values() for t in a.get("topicPolicy", {}).get("topics", [])]
    assert topics == ["investment-advice"]

    # and acme-retail (standard: no denied topics) gets an answer to the same question
    assert _ask(acme, acme_profile, STOCKS)["stopReason"] != "guardrail_intervened"
    # while a word both guardrails block, or an AWS access key in the prompt, is intervened for both
    for client, profile in ((acme, acme_profile), (globex, globex_profile)):
        assert _ask(client, profile, "Summarise the Project Nightingale plan")["stopReason"] == "guardrail_intervened"
        assert _ask(client, profile, "my key is AKIAIOSFODNN7EXAMPLE, is it valid?")["stopReason"] == "guardrail_intervened"


def test_an_onboarding_naming_a_guardrail_the_hub_does_not_have_is_rejected_naming_the_field(hub, onboard):
    # When a tenant asks for a guardrail that is not one of the hub's
    request = sample("onboarding/acme-retail-us.json")
    request["detail"]["guardrail"] = "lenient"
    [rejected] = onboard(request)

    # Then the onboarding is rejected naming $.guardrail and the choices, audited, and nothing is registered
    description = hub.client("stepfunctions").describe_execution(executionArn=rejected["executionArn"])
    assert (description["status"], description["error"]) == ("FAILED", "InputRejected")
    [record] = [r for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "RejectInput"]
    detail = json.loads(record["detail"])
    assert detail["field"] == "$.guardrail" and "standard, strict" in detail["reason"]
    assert "META" not in registry_items(hub, "acme-retail")


def _update(hub, **change) -> dict:
    hub.put_event("TenantUpdateRequested", {"tenant_id": "acme-retail", "requested_by": "platform-admin@example.com", **change})
    hub.wait_for_executions(timeout=180)
    sfn = hub.client("stepfunctions")
    [last] = sorted(sfn.list_executions(stateMachineArn=hub.outputs["TenantUpdateStateMachineArn"])["executions"],
                    key=lambda e: e["startDate"])[-1:]
    return sfn.describe_execution(executionArn=last["executionArn"])


def test_a_new_guardrail_bites_on_the_next_call_and_a_failed_update_puts_the_old_one_back(hub, tenants):
    # Given acme-retail's application with a session vended under the standard guardrail
    session = hub.tenant_session("acme-retail", ACME)
    old = tenant_app().guardrail_config(session.hub_models)
    profile = tenants["acme-retail"][f"PROFILE#{NOVA}"]["profile_arn"]

    # When the hub admin moves it to the strict guardrail
    done = _update(hub, guardrail="strict", reason="public-facing now")

    # Then the old session is refused at once (revoked) and a new one carries strict, which intervenes on advice
    assert done["status"] == "SUCCEEDED", done.get("cause")
    with pytest.raises(ClientError) as revoked:
        _ask(_bare_runtime(hub, session), profile, "hello", guardrailConfig=old)
    assert revoked.value.response["Error"]["Code"] == "AccessDeniedException"
    renewed = hub.tenant_session("acme-retail", ACME)
    assert renewed.hub_models["Guardrail"]["name"] == "strict"
    assert _ask(renewed.client("bedrock-runtime"), profile, STOCKS)["stopReason"] == "guardrail_intervened"
    [change] = [json.loads(r["detail"]) for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "ChangeTenantSettings"]
    assert change["guardrail"] == "strict" and change["previous_guardrail"] == "standard" and change["sessions_revoked"] is True

    # When a later update back to standard fails after its settings were applied (a model it cannot add)
    faults.inject("AddTenantModelsFunction", error="InjectedPermanentFailure", times=None)
    try:
        failed = _update(hub, guardrail="standard", add_models=[LITE])
    finally:
        faults.clear()

    # Then the update is undone: the tenant keeps strict, and sessions vended meanwhile are revoked again
    assert failed["status"] == "FAILED"
    assert registry_items(hub, "acme-retail")["META"]["guardrail"] == "strict"
    assert hub.tenant_session("acme-retail", ACME).hub_models["Guardrail"]["name"] == "strict"
    undone = [json.loads(r["detail"]) for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "UndoTenantUpdate"]
    assert undone and undone[-1]["error"]
