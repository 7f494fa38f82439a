"""Seam tests of hubsim/patches/bedrock_guardrails.py: guardrails and versions (API and CloudFormation),
applied to Converse and InvokeModel with the real response shapes, required by IAM through
bedrock:GuardrailIdentifier, and counted in CloudWatch."""
import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import HUB_ACCOUNT
from .test_authz import _allow, _as, _role

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


def _ask(runtime, text: str, **extra) -> dict:
    return runtime.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": text}]}], **extra)


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
            "VersionRef": {"Ref": "StrictVersion"}, "Version": {"Fn::GetAtt": ["StrictVersion", "Version"]},
            "VersionArn": {"Fn::GetAtt": ["StrictVersion", "GuardrailArn"]}}.items()}}
    cfn = engine.client("cloudformation")
    cfn.create_stack(StackName="seam-guardrail", TemplateBody=json.dumps(template))
    out = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="seam-guardrail")["Stacks"][0]["Outputs"]}
    guardrail_id = out["Arn"].rsplit("/", 1)[-1]
    assert out["Ref"] == out["Arn"] == out["VersionArn"] and out["Draft"] == "DRAFT"
    assert (out["Version"], out["VersionRef"]) == ("1", f"{guardrail_id}|1")
    got = engine.client("bedrock").get_guardrail(guardrailIdentifier=guardrail_id, guardrailVersion="1")
    assert got["name"] == "seam-cfn" and got["wordPolicy"]["words"] == [{"text": "project nightingale"}]
    assert engine.client("bedrock").list_tags_for_resource(resourceARN=out["Arn"])["tags"] == [{"key": "project", "value": "seam"}]


def test_converse_and_invoke_model_apply_words_regexes_and_denied_topics(engine):
    arn, version = _guardrail(engine.client("bedrock"))
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
    assert "guardrail" in invoked["amazon-bedrock-trace"]
    # a guardrail or version that does not exist is a ValidationException
    with pytest.raises(ClientError) as unknown:
        _ask(runtime, "hello", guardrailConfig={"guardrailIdentifier": arn, "guardrailVersion": "9"})
    assert unknown.value.response["Error"]["Code"] == "ValidationException"


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


def test_guardrail_invocations_and_interventions_are_counted_in_cloudwatch(engine):
    arn, version = _guardrail(engine.client("bedrock"))
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1")
    config = {"guardrailIdentifier": arn, "guardrailVersion": version}
    _ask(runtime, "hello", guardrailConfig=config)
    _ask(runtime, "Which stocks should I buy", guardrailConfig=config)
    cloudwatch = engine.client("cloudwatch")
    now = datetime.now(timezone.utc)

    def total(metric: str, source: str) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Bedrock/Guardrails", MetricName=metric, StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5), Period=600, Statistics=["Sum"],
            Dimensions=[{"Name": "GuardrailArn", "Value": arn}, {"Name": "GuardrailVersion", "Value": version},
                        {"Name": "GuardrailContentSource", "Value": source}])["Datapoints"]
        return sum(p["Sum"] for p in points)

    # two prompts assessed (one intervened, so only one answer assessed)
    assert (total("Invocations", "Input"), total("InvocationsIntervened", "Input"), total("Invocations", "Output")) == (2, 1, 1)
    assert total("TextUnitCount", "Input") == 2
