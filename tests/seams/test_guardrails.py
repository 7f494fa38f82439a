"""Seam tests of hubsim/patches/bedrock_guardrails.py: guardrails and versions (API and CloudFormation),
applied to Converse and InvokeModel with the real response shapes, required by IAM through
bedrock:GuardrailIdentifier, and counted in CloudWatch."""
import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import HUB_ACCOUNT, SPOKE_ACCOUNT
from .test_authz import _allow, _as, _role, _root

NOVA = "amazon.nova-pro-v1:0"
GUARDRAIL = {
    "name": "seam-strict", "blockedInputMessaging": "Blocked: not a topic for this assistant.",
    "blockedOutputsMessaging": "Blocked answer.",
    "topicPolicyConfig": {"topicsConfig": [{"name": "investment-advice", "type": "DENY", "definition": "Advice on what to invest in.",
                                            "examples": ["Which stocks should I buy"]}]},
    "wordPolicyConfig": {"wordsConfig": [{"text": "project nightingale"}]},
    "sensitiveInformationPolicyConfig": {"regexesConfig": [{"name": "aws-access-key-id", "pattern": r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
                                                            "action": "BLOCK"}]},
}


def _guardrail(bedrock) -> tuple[str, str]:
    created = bedrock.create_guardrail(**GUARDRAIL)
    return created["guardrailArn"], bedrock.create_guardrail_version(guardrailIdentifier=created["guardrailId"])["version"]


def _ask(runtime, text: str, modelId: str = NOVA, **extra) -> dict:  # noqa: N803 (botocore's parameter name)
    return runtime.converse(modelId=modelId, messages=[{"role": "user", "content": [{"text": text}]}], **extra)


def test_guardrails_and_versions_have_the_real_shapes(engine):
    bedrock = engine.client("bedrock")
    created = bedrock.create_guardrail(**GUARDRAIL)
    assert created["version"] == "DRAFT" and created["guardrailArn"] == f"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:guardrail/{created['guardrailId']}"
    with pytest.raises(ClientError) as taken:
        bedrock.create_guardrail(**GUARDRAIL)
    assert taken.value.response["Error"]["Code"] == "ConflictException"
    assert bedrock.create_guardrail_version(guardrailIdentifier=created["guardrailArn"])["version"] == "1"
    assert bedrock.create_guardrail_version(guardrailIdentifier=created["guardrailId"], description="second")["version"] == "2"

    one = bedrock.get_guardrail(guardrailIdentifier=created["guardrailId"], guardrailVersion="1")
    assert (one["version"], one["status"], one["blockedInputMessaging"]) == ("1", "READY", GUARDRAIL["blockedInputMessaging"])
    assert one["topicPolicy"]["topics"][0]["name"] == "investment-advice"
    assert one["wordPolicy"]["words"] == [{"text": "project nightingale"}]
    assert one["sensitiveInformationPolicy"]["regexes"][0]["action"] == "BLOCK"
    assert bedrock.get_guardrail(guardrailIdentifier=created["guardrailArn"])["version"] == "DRAFT"
    assert [g["version"] for g in bedrock.list_guardrails()["guardrails"]] == ["DRAFT"]
    assert sorted(g["version"] for g in bedrock.list_guardrails(guardrailIdentifier=created["guardrailId"])["guardrails"]) == ["1", "2", "DRAFT"]

    bedrock.delete_guardrail(guardrailIdentifier=created["guardrailId"], guardrailVersion="2")
    with pytest.raises(ClientError) as gone:
        bedrock.get_guardrail(guardrailIdentifier=created["guardrailId"], guardrailVersion="2")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    bedrock.delete_guardrail(guardrailIdentifier=created["guardrailId"])
    assert bedrock.list_guardrails()["guardrails"] == []


def test_cloudformation_creates_a_guardrail_and_a_version_with_their_refs_and_attributes(engine):
    template = {"Resources": {
        "Strict": {"Type": "AWS::Bedrock::Guardrail", "Properties": {
            "Name": "seam-cfn", "BlockedInputMessaging": "no", "BlockedOutputsMessaging": "no",
            "WordPolicyConfig": {"WordsConfig": [{"Text": "project nightingale"}]},
            "Tags": [{"Key": "project", "Value": "seam"}]}},
        "StrictVersion": {"Type": "AWS::Bedrock::GuardrailVersion", "Properties": {
            "GuardrailIdentifier": {"Fn::GetAtt": ["Strict", "GuardrailId"]}, "Description": "one"}}},
        "Outputs": {k: {"Value": v} for k, v in {
            "Ref": {"Ref": "Strict"}, "Arn": {"Fn::GetAtt": ["Strict", "GuardrailArn"]}, "Draft": {"Fn::GetAtt": ["Strict", "Version"]},
            "Status": {"Fn::GetAtt": ["Strict", "Status"]}, "Id": {"Fn::GetAtt": ["Strict", "GuardrailId"]},
            "VersionRef": {"Ref": "StrictVersion"}, "Version": {"Fn::GetAtt": ["StrictVersion", "Version"]},
            "VersionArn": {"Fn::GetAtt": ["StrictVersion", "GuardrailArn"]}}.items()}}
    cfn = engine.client("cloudformation")
    cfn.create_stack(StackName="seam-guardrail", TemplateBody=json.dumps(template))
    out = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="seam-guardrail")["Stacks"][0]["Outputs"]}
    guardrail_id = out["Arn"].rsplit("/", 1)[-1]
    assert out["Ref"] == out["Arn"] == out["VersionArn"] and (out["Draft"], out["Status"], out["Id"]) == ("DRAFT", "READY", guardrail_id)
    assert (out["Version"], out["VersionRef"]) == ("1", f"{guardrail_id}|1")
    got = engine.client("bedrock").get_guardrail(guardrailIdentifier=guardrail_id, guardrailVersion="1")
    assert got["name"] == "seam-cfn" and got["wordPolicy"]["words"] == [{"text": "project nightingale"}]
    assert engine.client("bedrock").list_tags_for_resource(resourceARN=out["Arn"])["tags"] == [{"key": "project", "value": "seam"}]


def test_converse_and_invoke_model_apply_words_regexes_and_denied_topics(engine):
    arn, version = _guardrail(engine.client("bedrock"))
    guardrail_id = arn.rsplit("/", 1)[-1]
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")
    config = {"guardrailIdentifier": arn, "guardrailVersion": version, "trace": "enabled"}

    # a denied topic in the prompt: the guardrail's message, the model never called, the topic traced
    topic = _ask(runtime, "Which stocks should I buy this year?", guardrailConfig=config)
    assert topic["stopReason"] == "guardrail_intervened"
    assert topic["output"]["message"]["content"] == [{"text": GUARDRAIL["blockedInputMessaging"]}]
    assert topic["usage"] == {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    [assessment] = topic["trace"]["guardrail"]["inputAssessment"].values()
    assert assessment["topicPolicy"]["topics"] == [{"name": "investment-advice", "type": "DENY", "action": "BLOCKED", "detected": True}]
    # a blocked phrase, whatever its case, and an access key
    word = _ask(runtime, "Summarise Project Nightingale", guardrailConfig=config)
    [assessment] = word["trace"]["guardrail"]["inputAssessment"].values()
    assert word["stopReason"] == "guardrail_intervened" and assessment["wordPolicy"]["customWords"][0]["match"] == "Project Nightingale"
    key = _ask(runtime, "is AKIAIOSFODNN7EXAMPLE valid?", guardrailConfig=config)
    [assessment] = key["trace"]["guardrail"]["inputAssessment"].values()
    assert assessment["sensitiveInformationPolicy"]["regexes"][0]["match"] == "AKIAIOSFODNN7EXAMPLE"
    # the answer is assessed too: the emulated model echoes, so an echoed phrase is blocked on the way out
    passed = _ask(runtime, "hello", guardrailConfig=config)
    assert passed["stopReason"] == "end_turn" and list(passed["trace"]["guardrail"]["outputAssessments"].values())[0][0]["invocationMetrics"]
    # InvokeModel: the guardrail headers, and the action in the body
    invoked = json.loads(runtime.invoke_model(
        modelId=f"us.{NOVA}", guardrailIdentifier=arn, guardrailVersion=version, trace="ENABLED",
        body=json.dumps({"messages": [{"role": "user", "content": [{"text": "Which stocks should I buy"}]}]}))["body"].read())
    assert invoked["amazon-bedrock-guardrailAction"] == "INTERVENED" and invoked["generation"] == GUARDRAIL["blockedInputMessaging"]
    # (InvokeModel's trace has its own layout: input / outputs, not Converse's inputAssessment)
    traced = invoked["amazon-bedrock-trace"]["guardrail"]
    assert traced["actionReason"] == "Guardrail blocked." and "outputs" not in traced
    assert traced["input"][guardrail_id]["topicPolicy"]["topics"][0]["name"] == "investment-advice"
    # a guardrail that does not exist, or a version it does not have, is a ValidationException with Bedrock's words
    for config, message in (({"guardrailIdentifier": arn, "guardrailVersion": "9"},
                             "The guardrail identifier or version provided in the request does not exist."),
                            ({"guardrailIdentifier": "nosuchguardrail", "guardrailVersion": "1"}, "The provided guardrail identifier is invalid.")):
        with pytest.raises(ClientError) as unknown:
            _ask(runtime, "hello", guardrailConfig=config)
        assert unknown.value.response["Error"] == {"Code": "ValidationException", "Message": message}


def test_a_policy_requiring_the_guardrail_refuses_a_call_without_it_or_with_another(engine):
    bedrock = engine.client("bedrock")
    arn, version = _guardrail(bedrock)
    other = bedrock.create_guardrail(**{**GUARDRAIL, "name": "seam-other"})
    other_version = bedrock.create_guardrail_version(guardrailIdentifier=other["guardrailId"])["version"]
    # the user guide's example: invoke only with this guardrail and version; apply it
    role = _role("seam-guarded", _allow(
        {"Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*",
         "Condition": {"StringEquals": {"bedrock:GuardrailIdentifier": f"{arn}:{version}"}}},
        {"Action": "bedrock:ApplyGuardrail", "Resource": [arn, other["guardrailArn"]]}))
    runtime = _as(role).client("bedrock-runtime")

    def code(**extra) -> str:
        try:
            _ask(runtime, "hello", **extra)
            return ""
        except ClientError as error:
            return error.response["Error"]["Code"]

    assert code() == "AccessDeniedException"
    assert code(guardrailConfig={"guardrailIdentifier": other["guardrailArn"], "guardrailVersion": other_version}) == "AccessDeniedException"
    assert code(guardrailConfig={"guardrailIdentifier": arn, "guardrailVersion": "DRAFT"}) == "AccessDeniedException"
    assert code(guardrailConfig={"guardrailIdentifier": arn, "guardrailVersion": version}) == ""
    # without bedrock:ApplyGuardrail on the guardrail, even the right one is refused
    bare = _role("seam-no-apply", _allow(
        {"Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*",
         "Condition": {"StringEquals": {"bedrock:GuardrailIdentifier": f"{arn}:{version}"}}}))
    with pytest.raises(ClientError) as refused:
        _ask(_as(bare).client("bedrock-runtime"), "hello", guardrailConfig={"guardrailIdentifier": arn, "guardrailVersion": version})
    assert "bedrock:ApplyGuardrail" in refused.value.response["Error"]["Message"]


def test_the_answer_is_assessed_and_an_intervention_on_it_is_traced_in_both_layouts(engine):
    # Given a guardrail whose blocked word the emulated model echoes (its answer is "Echo: <the prompt>")
    bedrock = engine.client("bedrock")
    created = bedrock.create_guardrail(name="seam-echo", blockedInputMessaging="in", blockedOutputsMessaging="Blocked answer.",
                                       wordPolicyConfig={"wordsConfig": [{"text": "echo"}]})
    version = bedrock.create_guardrail_version(guardrailIdentifier=created["guardrailId"])["version"]
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")
    profile = _system_profile()

    # When the prompt passes and the answer does not
    conversed = _ask(runtime, "hello there", modelId=profile,
                     guardrailConfig={"guardrailIdentifier": created["guardrailArn"], "guardrailVersion": version, "trace": "enabled"})
    invoked = json.loads(runtime.invoke_model(
        modelId=profile, guardrailIdentifier=created["guardrailArn"], guardrailVersion=version, trace="ENABLED",
        body=json.dumps({"messages": [{"role": "user", "content": [{"text": "hello there"}]}]}))["body"].read())

    # Then the guardrail's output message replaces the answer, the model's tokens were spent, and the trace
    # carries the prompt's and the answer's assessments and what the model said
    assert (conversed["stopReason"], conversed["output"]["message"]["content"]) == ("guardrail_intervened", [{"text": "Blocked answer."}])
    assert conversed["usage"]["outputTokens"] > 0
    traced = conversed["trace"]["guardrail"]
    [answered] = traced["outputAssessments"][created["guardrailId"]]
    assert answered["wordPolicy"]["customWords"] == [{"match": "Echo", "action": "BLOCKED", "detected": True}]
    assert "wordPolicy" not in traced["inputAssessment"][created["guardrailId"]]
    assert (traced["modelOutput"], traced["actionReason"]) == (["Echo: hello there"], "Guardrail blocked.")
    assert (invoked["amazon-bedrock-guardrailAction"], invoked["generation"]) == ("INTERVENED", "Blocked answer.")
    [output] = invoked["amazon-bedrock-trace"]["guardrail"]["outputs"]
    assert output[created["guardrailId"]]["wordPolicy"]["customWords"][0]["match"] == "Echo"
    assert json.loads(invoked["amazon-bedrock-trace"]["guardrail"]["modelOutput"][0])["generation"] == "Echo: hello there"


def test_invoke_model_refuses_a_guardrail_body_without_a_guardrail_and_a_guardrail_without_json(engine):
    arn, version = _guardrail(engine.client("bedrock"))
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")
    tagged = json.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}], "amazon-bedrock-guardrailConfig": {"tagSuffix": "x"}})
    for call in (lambda: runtime.invoke_model(modelId=_system_profile(), body=tagged),
                 lambda: runtime.invoke_model(modelId=_system_profile(), body=b"hi", contentType="text/plain",
                                              guardrailIdentifier=arn, guardrailVersion=version)):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_the_condition_key_is_the_arn_and_version_or_the_bare_arn_for_the_draft(engine):
    # Given a guardrail with a version, and roles written as the user guide's Examples 2, 3 and 5
    bedrock = engine.client("bedrock")
    arn, version = _guardrail(bedrock)
    guardrail_id = arn.rsplit("/", 1)[-1]
    apply = {"Action": "bedrock:ApplyGuardrail", "Resource": arn}

    def role(name: str, condition: dict) -> boto3.Session:
        return _as(_role(name, _allow({"Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*",
                                       "Condition": condition}, apply)))

    draft_only = role("seam-draft", {"StringEquals": {"bedrock:GuardrailIdentifier": arn}})
    numbered_only = role("seam-numbered", {"ArnLike": {"bedrock:GuardrailIdentifier": f"{arn}:*"}})
    any_version = role("seam-any", {"ArnLike": {"bedrock:GuardrailIdentifier": f"{arn}*"}})
    # and one refusing every call without a guardrail (a Null condition)
    required = _as(_role("seam-null", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}, {"Effect": "Allow", **apply},
        {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*",
         "Condition": {"Null": {"bedrock:GuardrailIdentifier": "true"}}}]})))

    def code(session: boto3.Session, identifier: str | None, guardrail_version: str | None) -> str:
        config = {"guardrailConfig": {"guardrailIdentifier": identifier, "guardrailVersion": guardrail_version}} if identifier else {}
        try:
            _ask(session.client("bedrock-runtime"), "hello", **config)
            return "answered"
        except ClientError as error:
            return error.response["Error"]["Code"]

    # Then DRAFT is the bare ARN, a numbered version the ARN and ":<version>", whether the call names the ARN or the id
    assert [code(draft_only, arn, "DRAFT"), code(draft_only, arn, version)] == ["answered", "AccessDeniedException"]
    assert [code(numbered_only, guardrail_id, version), code(numbered_only, arn, "DRAFT")] == ["answered", "AccessDeniedException"]
    assert [code(any_version, arn, "DRAFT"), code(any_version, guardrail_id, version)] == ["answered", "answered"]
    assert [code(required, None, None), code(required, arn, version)] == ["AccessDeniedException", "answered"]


def test_a_guardrail_of_another_account_is_refused(engine):
    # Given a guardrail in a spoke account, and a hub role allowed to invoke and to apply any guardrail
    spoke = _root(SPOKE_ACCOUNT).client("bedrock", region_name="us-east-1")
    foreign = spoke.create_guardrail(**GUARDRAIL)
    version = spoke.create_guardrail_version(guardrailIdentifier=foreign["guardrailId"])["version"]
    role = _role("seam-foreign", _allow({"Action": ["bedrock:InvokeModel", "bedrock:ApplyGuardrail"], "Resource": "*"}))

    # When it names the spoke's guardrail, Then IAM refuses: guardrails have no resource-based policy
    with pytest.raises(ClientError) as refused:
        _ask(_as(role).client("bedrock-runtime"), "hello",
             guardrailConfig={"guardrailIdentifier": foreign["guardrailArn"], "guardrailVersion": version})
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "bedrock:ApplyGuardrail" in refused.value.response["Error"]["Message"]


def test_guardrail_metrics_are_put_on_the_documented_dimension_sets(engine):
    # Given a guardrail with three policies (topics, words, regexes)
    arn, version = _guardrail(engine.client("bedrock"))
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")
    config = {"guardrailIdentifier": arn, "guardrailVersion": version}

    # When one prompt passes (so its answer is assessed too) and one is blocked
    _ask(runtime, "hello", guardrailConfig=config)
    _ask(runtime, "Which stocks should I buy", guardrailConfig=config)

    cloudwatch = engine.client("cloudwatch")
    now = datetime.now(timezone.utc)

    def total(metric: str, **dimensions) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Bedrock/Guardrails", MetricName=metric, StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5), Period=600, Statistics=["Sum"],
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()])["Datapoints"]
        return sum(p["Sum"] for p in points)

    # Then per guardrail and version: three assessments (two prompts, one answer), one intervention, and
    # the text units of each policy (one unit of each of the three per assessment: regex-only is free units)
    assert (total("Invocations", GuardrailArn=arn, GuardrailVersion=version),
            total("InvocationsIntervened", GuardrailArn=arn, GuardrailVersion=version),
            total("TextUnitCount", GuardrailArn=arn, GuardrailVersion=version)) == (3, 1, 9)
    assert total("InvocationLatency", GuardrailArn=arn, GuardrailVersion=version) > 0
    # by source
    assert (total("Invocations", GuardrailContentSource="Input"), total("InvocationsIntervened", GuardrailContentSource="Input"),
            total("Invocations", GuardrailContentSource="Output")) == (2, 1, 1)
    # by policy type: the denied topic intervened, the word and regex policies only counted their units
    assert (total("InvocationsIntervened", GuardrailPolicyType="TopicPolicy"), total("InvocationsIntervened", GuardrailPolicyType="WordPolicy"),
            total("TextUnitCount", GuardrailPolicyType="SensitiveInformationPolicy")) == (1, 0, 3)
    assert total("TextUnitCount", GuardrailPolicyType="ContentPolicy") == 0


def _system_profile() -> str:
    """A system-defined inference profile id: it answers as a foundation model (with the emulated echo),
    where a bare foundation model's InvokeModel is moto's own."""
    return f"us.{NOVA}"
