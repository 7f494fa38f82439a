"""Seam tests of hubsim/patches/bedrock_runtime.py: Converse and InvokeModel for imported models and
inference profiles, metered in CloudWatch.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json
import time
from datetime import datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import HUB_ACCOUNT, _bedrock_import_role, _grant_bucket


def test_bedrock_runtime_answers_imported_models_deterministically(engine, monkeypatch):
    from datetime import timedelta, timezone

    from botocore.config import Config

    from hubsim.patches import bedrock as bedrock_patch

    monkeypatch.setattr(bedrock_patch, "import_seconds", 0.2)
    monkeypatch.setattr(bedrock_patch, "import_outcomes", {})
    bedrock = engine.client("bedrock")
    # total_max_attempts=1: no retry by botocore (its `max_attempts` counts retries, not attempts)
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}))

    # An imported model whose artifacts (in another account) script its answers
    role_arn = _bedrock_import_role(engine, "seam-bedrock-runtime-import")
    s3 = engine.account_session("111111111111").client("s3")
    s3.create_bucket(Bucket="seam-runtime-artifacts")
    _grant_bucket(s3, "seam-runtime-artifacts", role_arn)
    s3.put_object(Bucket="seam-runtime-artifacts", Key="models/m1/config.json",
                  Body=json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}).encode())
    s3.put_object(Bucket="seam-runtime-artifacts", Key="models/m1/hubsim-answers.json", Body=json.dumps({
        "answers": {"What is the capital of France?": "Paris is the capital of France."},
        "default": "I do not know.", "latency_ms": 150, "throttle_first": 2,
    }).encode())
    job_arn = bedrock.create_model_import_job(
        jobName="runtime-import", importedModelName="runtime-llama", roleArn=role_arn,
        modelDataSource={"s3DataSource": {"s3Uri": "s3://seam-runtime-artifacts/models/m1/"}})["jobArn"]
    deadline = time.monotonic() + 15
    while (job := bedrock.get_model_import_job(jobIdentifier=job_arn))["status"] == "InProgress":
        assert time.monotonic() < deadline, "import still InProgress"
        time.sleep(0.05)
    assert job["status"] == "Completed"
    model_arn = job["importedModelArn"]

    def converse(text, model_id=model_arn, **extra):
        return runtime.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": text}]}], **extra)

    def error_of(call, *args, **kwargs):
        with pytest.raises(ClientError) as raised:
            call(*args, **kwargs)
        return raised.value.response

    # throttle_first 2: the first two calls of the model are throttled (429), then it answers
    for _ in range(2):
        throttled = error_of(converse, "What is the capital of France?")
        assert throttled["Error"]["Code"] == "ThrottlingException"
        assert throttled["ResponseMetadata"]["HTTPStatusCode"] == 429

    # Converse: the scripted answer for its exact prompt, with the real shapes
    answered = converse("What is the capital of France?", system=[{"text": "Be brief."}], inferenceConfig={"maxTokens": 64})
    answered.pop("ResponseMetadata")
    assert answered == {
        "output": {"message": {"role": "assistant", "content": [{"text": "Paris is the capital of France."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 8, "outputTokens": 6, "totalTokens": 14},  # "Be brief." counts too
        "metrics": {"latencyMs": 150},
    }
    # ... the script's default for any other prompt; by name as well as ARN
    other = converse("Tell me a joke", model_id="runtime-llama")
    assert other["output"]["message"]["content"] == [{"text": "I do not know."}]
    assert other["usage"] == {"inputTokens": 4, "outputTokens": 4, "totalTokens": 8}

    # InvokeModel: Llama-style body in, generation out
    invoked = runtime.invoke_model(modelId=model_arn, contentType="application/json", accept="application/json",
                                   body=json.dumps({"prompt": "What is the capital of France?", "max_gen_len": 64}))
    assert invoked["contentType"] == "application/json"
    assert json.loads(invoked["body"].read()) == {
        "generation": "Paris is the capital of France.", "prompt_token_count": 6,
        "generation_token_count": 6, "stop_reason": "stop"}

    # A foundation model: Converse echoes deterministically; InvokeModel stays moto's
    echoed = converse("one two three four five six seven eight nine ten", model_id="meta.llama3-8b-instruct-v1:0")
    assert echoed["output"]["message"]["content"] == [{"text": "Echo: one two three four five six seven eight"}]
    assert echoed["metrics"] == {"latencyMs": 100}
    foundation = runtime.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=json.dumps({"prompt": "hi"}),
                                      contentType="application/json", accept="application/json")
    assert json.loads(foundation["body"].read()) == {}

    # CloudWatch: AWS/Bedrock usage per ModelId as passed (throttles apart from invocations)
    cloudwatch, now = engine.client("cloudwatch"), datetime.now(timezone.utc)

    def total(metric, model_id=model_arn):
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Bedrock", MetricName=metric, Dimensions=[{"Name": "ModelId", "Value": model_id}],
            StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=10),
            Period=3600, Statistics=["Sum"])["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert total("Invocations") == 2 and total("InvocationThrottles") == 2
    assert total("InputTokenCount") == 8 + 6 and total("OutputTokenCount") == 6 + 6
    assert total("InvocationLatency") == 300
    assert total("Invocations", "runtime-llama") == 1 and total("Invocations", "meta.llama3-8b-instruct-v1:0") == 1

    # Unknown and deleted imported models are not found
    unknown = f"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:imported-model/nosuchmodel1"
    assert error_of(converse, "hello", model_id=unknown)["Error"]["Code"] == "ResourceNotFoundException"
    bedrock.delete_imported_model(modelIdentifier=model_arn)
    gone = error_of(runtime.invoke_model, modelId=model_arn, body=json.dumps({"prompt": "hello"}),
                    contentType="application/json", accept="application/json")
    assert (gone["Error"]["Code"], gone["ResponseMetadata"]["HTTPStatusCode"]) == ("ResourceNotFoundException", 404)


NOVA_PRO = "amazon.nova-pro-v1:0"


def _tenant_runtime(hub, event: dict):
    """bedrock-runtime with the tenant's vended hub credentials (its application's, from the broker)."""
    from botocore.config import Config

    tenant_id = event["detail"]["tenant_id"]
    session = hub.tenant_session(tenant_id, event["detail"]["spoke"]["account_id"])
    frozen = session.get_credentials().get_frozen_credentials()
    credentials = {"AccessKeyId": frozen.access_key, "SecretAccessKey": frozen.secret_key, "SessionToken": frozen.token}
    runtime = session.client("bedrock-runtime", config=Config(retries={"total_max_attempts": 1}))
    return runtime, session, credentials


def _onboarded_profile(hub, onboard, model_id: str = NOVA_PRO) -> tuple[dict, str]:
    """acme-retail onboarded (spoke 222222222222, US), and the ARN of its profile of `model_id`."""
    from conftest import registry_items, sample

    event = sample("onboarding/acme-retail-us.json")
    assert [e["status"] for e in onboard(event)] == ["SUCCEEDED"]
    return event, registry_items(hub, "acme-retail")[f"PROFILE#{model_id}"]["profile_arn"]


def _usage(cloudwatch, model_id: str, start: datetime, end: datetime) -> dict[str, float]:
    """Sum of each AWS/Bedrock usage metric of one ModelId over [start, end), by GetMetricData."""
    names = ("Invocations", "InputTokenCount", "OutputTokenCount", "InvocationLatency")
    results = cloudwatch.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{
        "Id": f"m{i}", "Label": name, "MetricStat": {"Period": 86400, "Stat": "Sum", "Metric": {
            "Namespace": "AWS/Bedrock", "MetricName": name, "Dimensions": [{"Name": "ModelId", "Value": model_id}]}},
    } for i, name in enumerate(names)])["MetricDataResults"]
    return {r["Label"]: sum(r["Values"]) for r in results}


def _around_now() -> tuple[datetime, datetime]:
    """An hour either side of now: the window of datapoints stamped by the real clock."""
    from datetime import timedelta, timezone

    now = datetime.now(timezone.utc)
    return now - timedelta(hours=1), now + timedelta(hours=1)


def test_bedrock_runtime_meters_a_tenant_application_profile_in_the_hub(hub, onboard):
    # Given acme-retail onboarded, calling with the hub credentials its application got from the broker
    event, profile_arn = _onboarded_profile(hub, onboard)
    runtime, _, _ = _tenant_runtime(hub, event)

    # When it converses through its application profile, and invokes it with a Nova-style body
    answered = runtime.converse(modelId=profile_arn, system=[{"text": "Be brief."}],
                                messages=[{"role": "user", "content": [{"text": "What is the capital of France?"}]}])
    invoked = runtime.invoke_model(modelId=profile_arn, contentType="application/json", accept="application/json",
                                   body=json.dumps({"messages": [{"role": "user", "content": [{"text": "Say hello"}]}]}))

    # Then it answers as a foundation model, with the imported models' InvokeModel body shape
    assert answered["output"]["message"]["content"] == [{"text": "Echo: What is the capital of France?"}]
    assert answered["usage"] == {"inputTokens": 8, "outputTokens": 7, "totalTokens": 15}
    # (the tenant's guardrail, which its application's client adds to every call, let it through)
    assert json.loads(invoked["body"].read()) == {
        "generation": "Echo: Say hello", "prompt_token_count": 2, "generation_token_count": 3, "stop_reason": "stop",
        "amazon-bedrock-guardrailAction": "NONE"}

    # And the usage is published as Bedrock does, under ModelId = the profile's id (not the ARN the caller
    # passed), in the hub account (whose credentials made the call), not the spoke's
    start, end = _around_now()
    profile_id = profile_arn.rsplit("/", 1)[1]
    assert _usage(hub.client("cloudwatch"), profile_id, start, end) == {
        "Invocations": 2, "InputTokenCount": 8 + 2, "OutputTokenCount": 7 + 3, "InvocationLatency": 200}
    assert _usage(hub.client("cloudwatch"), profile_arn, start, end)["Invocations"] == 0
    spoke_cloudwatch = hub.client("cloudwatch", account_id=event["detail"]["spoke"]["account_id"])
    assert spoke_cloudwatch.list_metrics(Namespace="AWS/Bedrock")["Metrics"] == []
    # and the hub calling the same profile by its bare id is metered under the same id
    hub_runtime = hub.client("bedrock-runtime")
    hub_runtime.converse(modelId=profile_id, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert _usage(hub.client("cloudwatch"), profile_id, start, end)["Invocations"] == 3
    # and a system-defined profile is a foundation-model route, metered as passed in the caller's account
    hub_runtime.converse(modelId=f"us.{NOVA_PRO}", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert _usage(hub.client("cloudwatch"), f"us.{NOVA_PRO}", start, end)["Invocations"] == 1


def test_bedrock_runtime_stamps_metrics_with_the_simulated_clock(engine):
    from datetime import timedelta, timezone

    from hubsim.patches import bedrock_runtime

    # Given an application profile in the hub account
    profile_arn = engine.client("bedrock").create_inference_profile(
        inferenceProfileName="seam-clock", modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_PRO}"},
    )["inferenceProfileArn"]
    runtime, cloudwatch = engine.client("bedrock-runtime"), engine.client("cloudwatch")

    # When it is invoked on a simulated day
    day = datetime(2025, 3, 14, 9, 30, tzinfo=timezone.utc)
    with bedrock_runtime.simulated_now(day):
        runtime.converse(modelId=profile_arn, messages=[{"role": "user", "content": [{"text": "one two three"}]}])

    # Then its datapoints are on that day, not today; and the real clock is back after the block
    midnight = day.replace(hour=0, minute=0)
    assert _usage(cloudwatch, profile_arn.rsplit("/", 1)[1], midnight, midnight + timedelta(days=1)) == {
        "Invocations": 1, "InputTokenCount": 3, "OutputTokenCount": 4, "InvocationLatency": 100}
    assert _usage(cloudwatch, profile_arn.rsplit("/", 1)[1], *_around_now())["Invocations"] == 0
    runtime.converse(modelId=profile_arn, messages=[{"role": "user", "content": [{"text": "now"}]}])
    assert _usage(cloudwatch, profile_arn.rsplit("/", 1)[1], *_around_now())["Invocations"] == 1
    assert _usage(cloudwatch, profile_arn.rsplit("/", 1)[1], midnight, midnight + timedelta(days=1))["Invocations"] == 1


def test_bedrock_runtime_refuses_an_unknown_application_profile(engine):
    from botocore.config import Config

    bedrock = engine.client("bedrock")
    runtime = boto3.client("bedrock-runtime", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}))
    cloudwatch = engine.client("cloudwatch")

    def not_found(model_id):
        with pytest.raises(ClientError) as raised:
            runtime.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": "hello"}]}])
        error = raised.value.response
        return (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ResourceNotFoundException", 404)

    # An application profile ARN that never existed, and one deleted: not found, nothing metered
    assert not_found(f"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:application-inference-profile/nosuchprofile")
    profile_arn = bedrock.create_inference_profile(
        inferenceProfileName="seam-deleted", modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_PRO}"},
    )["inferenceProfileArn"]
    bedrock.delete_inference_profile(inferenceProfileIdentifier=profile_arn)
    assert not_found(profile_arn)
    assert cloudwatch.list_metrics(Namespace="AWS/Bedrock")["Metrics"] == []
    # and a system-defined profile ARN of another geography is not in this Region
    assert not_found(f"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:inference-profile/eu.{NOVA_PRO}")
