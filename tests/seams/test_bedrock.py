"""Seam tests of hubsim/patches/bedrock.py: inference profiles and Custom Model Import with the real
shapes.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json
import re
import time
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from .conftest import HUB_ACCOUNT, _bedrock_import_role, _grant_bucket


HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def test_bedrock_inference_profiles_have_the_real_shapes(engine):
    us = engine.client("bedrock", region="us-east-1")
    eu = engine.client("bedrock", region="eu-central-1")

    # System-defined cross-Region profiles: each Region sees its geography's and the global ones
    def system_ids(client):
        summaries = client.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"]
        assert summaries and all(p["type"] == "SYSTEM_DEFINED" and p["status"] == "ACTIVE" for p in summaries)
        return {p["inferenceProfileId"] for p in summaries}

    us_ids, eu_ids = system_ids(us), system_ids(eu)
    assert f"us.{HAIKU}" in us_ids and all(i.startswith(("us.", "global.")) for i in us_ids)
    assert f"eu.{HAIKU}" in eu_ids and all(i.startswith(("eu.", "global.")) for i in eu_ids)
    assert any(i.startswith("global.") for i in eu_ids)
    source = us.get_inference_profile(inferenceProfileIdentifier=f"us.{HAIKU}")
    assert source["inferenceProfileArn"] == f"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:inference-profile/us.{HAIKU}"
    assert all(m["modelArn"].startswith("arn:aws:bedrock:us-") for m in source["models"])
    assert isinstance(source["createdAt"], datetime)

    # An application profile copying a system profile, with tags
    created = us.create_inference_profile(
        inferenceProfileName="acme-haiku", description="acme's Haiku", clientRequestToken="seam-token-1",
        modelSource={"copyFrom": source["inferenceProfileArn"]},
        tags=[{"key": "genai-hub:tenant-id", "value": "acme"}, {"key": "genai-hub:cost-center", "value": "CC-1"}],
    )
    arn = created["inferenceProfileArn"]
    assert created["status"] == "ACTIVE"
    assert re.fullmatch(rf"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:application-inference-profile/[a-z0-9]+", arn)

    profile = us.get_inference_profile(inferenceProfileIdentifier=arn)
    assert profile["type"] == "APPLICATION" and profile["inferenceProfileName"] == "acme-haiku"
    assert profile["description"] == "acme's Haiku"
    assert profile["models"] == source["models"]
    assert us.get_inference_profile(inferenceProfileIdentifier=profile["inferenceProfileId"])["inferenceProfileArn"] == arn
    applications = us.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert [p["inferenceProfileArn"] for p in applications] == [arn]
    assert eu.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []
    tags = {t["key"]: t["value"] for t in us.list_tags_for_resource(resourceARN=arn)["tags"]}
    assert tags == {"genai-hub:tenant-id": "acme", "genai-hub:cost-center": "CC-1"}

    # A retry with the same clientRequestToken is the same profile; the same name otherwise conflicts
    retried = us.create_inference_profile(
        inferenceProfileName="acme-haiku", clientRequestToken="seam-token-1", modelSource={"copyFrom": source["inferenceProfileArn"]},
    )
    assert retried["inferenceProfileArn"] == arn
    with pytest.raises(ClientError) as conflict:
        us.create_inference_profile(
            inferenceProfileName="acme-haiku", clientRequestToken="seam-token-2", modelSource={"copyFrom": source["inferenceProfileArn"]},
        )
    assert conflict.value.response["Error"]["Code"] == "ConflictException"
    assert len(us.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]) == 1

    # Delete: gone from get and list
    us.delete_inference_profile(inferenceProfileIdentifier=arn)
    with pytest.raises(ClientError) as missing:
        us.get_inference_profile(inferenceProfileIdentifier=arn)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert us.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []


def test_bedrock_model_import_jobs_have_the_real_shapes(engine, monkeypatch):
    from hubsim.patches import bedrock as bedrock_patch

    monkeypatch.setattr(bedrock_patch, "import_seconds", 1.5)
    monkeypatch.setattr(bedrock_patch, "import_outcomes", {})
    monkeypatch.setattr(bedrock_patch, "max_concurrent_import_jobs_seen", 0)
    monkeypatch.setattr(bedrock_patch, "rejected_concurrent_creates", 0)
    bedrock = engine.client("bedrock")
    job_arn_re = rf"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:model-import-job/[a-z0-9]{{12}}"
    model_arn_re = rf"arn:aws:bedrock:us-east-1:{HUB_ACCOUNT}:imported-model/[a-z0-9]{{12}}"

    role_arn = _bedrock_import_role(engine, "seam-bedrock-import")

    # The artifacts, in a bucket of another account
    s3 = engine.account_session("111111111111").client("s3")
    s3.create_bucket(Bucket="seam-model-artifacts")
    _grant_bucket(s3, "seam-model-artifacts", role_arn)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    for prefix in ("models/m1/", "models/m3/", "models/m4/"):
        s3.put_object(Bucket="seam-model-artifacts", Key=f"{prefix}config.json", Body=json.dumps(config).encode())
        s3.put_object(Bucket="seam-model-artifacts", Key=f"{prefix}model.safetensors", Body=b"weights")
    s3.put_object(Bucket="seam-model-artifacts", Key="models/empty/tokenizer.json", Body=b"{}")

    def create(job_name, model_name, prefix, token=None, **extra):
        return bedrock.create_model_import_job(
            jobName=job_name, importedModelName=model_name, roleArn=role_arn,
            modelDataSource={"s3DataSource": {"s3Uri": f"s3://seam-model-artifacts/{prefix}"}},
            **({"clientRequestToken": token} if token else {}), **extra,
        )["jobArn"]

    def wait(job_arn, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            job = bedrock.get_model_import_job(jobIdentifier=job_arn)
            if job["status"] != "InProgress":
                return job
            assert time.monotonic() < deadline, f"{job_arn} still InProgress after {timeout}s"
            time.sleep(0.05)

    def error_of(call, **kwargs):
        with pytest.raises(ClientError) as raised:
            call(**kwargs)
        return raised.value.response

    # A job: InProgress at first, with the request's shapes
    job_arn = create("acme-llama-import", "acme-llama", "models/m1/", token="import-token-1",
                     jobTags=[{"key": "genai-hub:tenant-id", "value": "acme"}],
                     importedModelTags=[{"key": "genai-hub:tenant-id", "value": "acme"}])
    assert re.fullmatch(job_arn_re, job_arn)
    job = bedrock.get_model_import_job(jobIdentifier=job_arn)
    assert job["status"] == "InProgress" and "importedModelArn" not in job and "endTime" not in job
    assert (job["jobArn"], job["jobName"], job["importedModelName"], job["roleArn"]) == (job_arn, "acme-llama-import", "acme-llama", role_arn)
    assert job["modelDataSource"] == {"s3DataSource": {"s3Uri": "s3://seam-model-artifacts/models/m1/"}}
    assert isinstance(job["creationTime"], datetime)
    assert bedrock.get_model_import_job(jobIdentifier="acme-llama-import")["jobArn"] == job_arn

    # Idempotent on the token; the same names conflict; a second job while one runs is over quota
    assert create("acme-llama-import", "acme-llama", "models/m1/", token="import-token-1") == job_arn
    assert error_of(create, job_name="acme-llama-import", model_name="other", prefix="models/m1/")["Error"]["Code"] == "ConflictException"
    assert error_of(create, job_name="other-import", model_name="acme-llama", prefix="models/m1/")["Error"]["Code"] == "ConflictException"
    quota = error_of(create, job_name="beta-import", model_name="beta-llama", prefix="models/m1/")
    assert quota["Error"]["Code"] == "ServiceQuotaExceededException"
    assert quota["ResponseMetadata"]["HTTPStatusCode"] == 400 and "1 model import job at a time" in quota["Error"]["Message"]
    assert bedrock_patch.rejected_concurrent_creates == 1
    in_progress = bedrock.list_model_import_jobs(statusEquals="InProgress")["modelImportJobSummaries"]
    assert [j["jobArn"] for j in in_progress] == [job_arn]

    # Completed: the imported model, by name or ARN, with tags on both
    job = wait(job_arn)
    assert job["status"] == "Completed" and "failureMessage" not in job
    assert isinstance(job["endTime"], datetime) and job["endTime"] >= job["creationTime"]
    model_arn = job["importedModelArn"]
    assert re.fullmatch(model_arn_re, model_arn)
    model = bedrock.get_imported_model(modelIdentifier=model_arn)
    model.pop("ResponseMetadata")
    assert isinstance(model.pop("creationTime"), datetime)
    assert model == {
        "modelArn": model_arn, "modelName": "acme-llama", "jobName": "acme-llama-import", "jobArn": job_arn,
        "modelDataSource": {"s3DataSource": {"s3Uri": "s3://seam-model-artifacts/models/m1/"}},
        "modelArchitecture": "llama", "instructSupported": True,
        "customModelUnits": {"customModelUnitsPerModelCopy": 1, "customModelUnitsVersion": "v1.0"},
    }
    assert bedrock.get_imported_model(modelIdentifier="acme-llama")["modelArn"] == model_arn
    summaries = bedrock.list_imported_models(nameContains="acme")["modelSummaries"]
    assert [(m["modelArn"], m["modelName"], m["modelArchitecture"], m["instructSupported"]) for m in summaries] == [
        (model_arn, "acme-llama", "llama", True)]
    assert bedrock.list_imported_models(nameContains="nobody")["modelSummaries"] == []
    for arn in (job_arn, model_arn):
        assert bedrock.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "genai-hub:tenant-id", "value": "acme"}]

    # No config.json under the prefix: Failed, naming it
    failed = wait(create("empty-import", "empty-llama", "models/empty/"))
    assert failed["status"] == "Failed" and "importedModelArn" not in failed
    assert "config.json" in failed["failureMessage"] and "s3://seam-model-artifacts/models/empty/" in failed["failureMessage"]

    # Test hooks: a forced failure, and a job that hangs (blocking others) until released
    bedrock_patch.import_outcomes["forced-llama"] = {"status": "Failed", "message": "Unsupported quantization."}
    forced = wait(create("forced-import", "forced-llama", "models/m3/"))
    assert (forced["status"], forced["failureMessage"]) == ("Failed", "Unsupported quantization.")
    bedrock_patch.import_outcomes["hung-llama"] = {"status": "Hang"}
    hung_arn = create("hung-import", "hung-llama", "models/m4/")
    time.sleep(0.6)
    assert bedrock.get_model_import_job(jobIdentifier=hung_arn)["status"] == "InProgress"
    assert error_of(create, job_name="late-import", model_name="late-llama", prefix="models/m1/")["Error"]["Code"] == "ServiceQuotaExceededException"
    del bedrock_patch.import_outcomes["hung-llama"]
    assert wait(hung_arn)["status"] == "Completed"
    assert bedrock_patch.max_concurrent_import_jobs_seen == 1 and bedrock_patch.rejected_concurrent_creates == 2

    # Listing: filters and index pagination
    assert {j["jobName"] for j in bedrock.list_model_import_jobs(statusEquals="Failed")["modelImportJobSummaries"]} == {
        "empty-import", "forced-import"}
    assert [j["jobName"] for j in bedrock.list_model_import_jobs(nameContains="hung")["modelImportJobSummaries"]] == ["hung-import"]
    first = bedrock.list_model_import_jobs(maxResults=3, sortOrder="Ascending")
    rest = bedrock.list_model_import_jobs(maxResults=3, sortOrder="Ascending", nextToken=first["nextToken"])
    assert [j["jobName"] for j in first["modelImportJobSummaries"] + rest["modelImportJobSummaries"]] == [
        "acme-llama-import", "empty-import", "forced-import", "hung-import"]
    assert "nextToken" not in rest

    # Delete: the model is gone, the job stays; unknown identifiers are not found
    bedrock.delete_imported_model(modelIdentifier=model_arn)
    assert error_of(bedrock.get_imported_model, modelIdentifier=model_arn)["Error"]["Code"] == "ResourceNotFoundException"
    assert [m["modelName"] for m in bedrock.list_imported_models()["modelSummaries"]] == ["hung-llama"]
    assert bedrock.get_model_import_job(jobIdentifier=job_arn)["importedModelArn"] == model_arn
    assert error_of(bedrock.get_model_import_job, jobIdentifier="no-such-import")["Error"]["Code"] == "ResourceNotFoundException"
