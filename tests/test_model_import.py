"""Cross-account model import on the local engine: a bare upload to the research bucket starts it."""
import json

import pytest
from botocore.exceptions import ClientError

from genai_hub import audit
from hubctl.cli import main as hubctl
from hubsim import sample_model
from hubsim.engine import RESEARCH_ACCOUNT, LocalHub, session_of
from hubsim.patches import bedrock as bedrock_emulation

IMPORT_ACTIONS = ["RegisterVersion", "CreateImportJob", "MarkImported"]
# ModelImported starts the evaluation at once, which moves the version on from IMPORTED.
IMPORTED = {"IMPORTED", "EVALUATING", "AWAITING_APPROVAL", "APPROVED", "REJECTED"}


def _import_actions(hub, model="support-bot") -> list[str]:
    records = audit.read_stream(f"model#{model}", table=hub.outputs["AuditTableName"])
    return [r["action"] for r in records if r["workflow"] == "model-import"]


@pytest.fixture
def research(hub):
    """The research account's spoke deployed; returns its S3 client and bucket."""
    outputs = hub.deploy_research_spoke()
    bedrock_emulation.reset_import_outcomes()
    yield hub.account_session(RESEARCH_ACCOUNT).client("s3"), outputs["ArtifactBucketName"]
    bedrock_emulation.reset_import_outcomes()


def _drop(research, name="support-bot", version="1.0.0", files=None, manifest=None, **manifest_fields):
    s3, bucket = research
    prefix = f"models/{name}/{version}"
    sample_model.upload(s3, bucket, prefix, sample_model.files() if files is None else files,
                        manifest if manifest is not None else sample_model.manifest(name, version, **manifest_fields))
    return prefix


def _rejected_at_first_read(hub) -> str:
    """The reason of the one rejection of a drop the import role could not read; nothing else exists."""
    [rejection] = audit.read_stream("rejected#model-import", table=hub.outputs["AuditTableName"])
    detail = json.loads(rejection["detail"]) if isinstance(rejection["detail"], str) else rejection["detail"]
    assert detail["error"] == "PolicyDeniesImportRole"
    assert f"the import role {hub.outputs['ModelImportRoleArn']} cannot read" in detail["reason"]
    assert _version(hub) == {} and _jobs(hub) == []
    return detail["reason"]


def _version(hub, name="support-bot", version="1.0.0") -> dict:
    from genai_hub.registry import from_item

    item = hub.client("dynamodb").get_item(
        TableName=hub.outputs["RegistryTableName"], Key={"pk": {"S": f"MODEL#{name}"}, "sk": {"S": f"VERSION#{version}"}},
        ConsistentRead=True).get("Item")
    return from_item(item) if item else {}


def _jobs(hub) -> list[dict]:
    return hub.client("bedrock").list_model_import_jobs()["modelImportJobSummaries"]


def _import_executions(hub) -> list[dict]:
    return hub.executions(hub.outputs["ModelImportStateMachineArn"])


def test_a_bare_upload_imports_the_model(hub, research, hub_events):
    # Given the research team's pipeline writes the artifacts, then import.json
    _drop(research, tenants=["acme-retail"])

    # When the hub has reacted to the upload (nothing else was sent)
    hub.wait_for_executions(timeout=120)

    # Then the version is IMPORTED with its lineage and the imported model exists in Bedrock
    [execution] = _import_executions(hub)
    assert execution["status"] == "SUCCEEDED"
    version = _version(hub)
    assert version["status"] in IMPORTED
    assert version["lineage"]["training_job"].endswith("support-bot-1-0-0")
    assert version["checks"]["architecture"] == "LlamaForCausalLM" and version["checks"]["tensors"] == 4
    model = hub.client("bedrock").get_imported_model(modelIdentifier=version["imported_model_arn"])
    assert model["modelName"] == "support-bot-1-0-0" and model["modelArchitecture"] == "llama"
    # and ModelImported was emitted, and every step is on the model's audit stream
    [imported] = hub_events("ModelImported")
    assert imported["detail"]["imported_model_arn"] == version["imported_model_arn"]
    assert imported["detail"]["requested_tenants"] == ["acme-retail"]
    assert _import_actions(hub) == IMPORT_ACTIONS
    records = audit.read_stream("model#support-bot", table=hub.outputs["AuditTableName"])
    assert audit.verify_chain("model#support-bot", records) is None


def _research_person(hub, bucket: str, name: str):
    """A person of the research team: a session named `name` of a pipeline role of the research
    account allowed to write drops (s3:PutObjectTagging too: the manifest carries a tag)."""
    admin = hub.account_session(RESEARCH_ACCOUNT)
    iam = admin.client("iam")
    if "research-pipeline" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]:
        iam.create_role(RoleName="research-pipeline", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{RESEARCH_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName="research-pipeline", PolicyName="write-drops", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": f"arn:aws:s3:::{bucket}/models/*"},
                {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": hub.research["ArtifactKeyArn"]}]}))
    role_arn = iam.get_role(RoleName="research-pipeline")["Role"]["Arn"]
    creds = admin.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=name)["Credentials"]
    return session_of(creds, hub.region)


def test_the_version_records_who_uploaded_the_drop_as_aws_verified_it(hub, research):
    # Given alice of the research team, whose manifest claims someone else submitted it
    _, bucket = research
    alice = _research_person(hub, bucket, "alice@example.com")
    user_id = alice.client("sts").get_caller_identity()["UserId"]
    role_id = hub.account_session(RESEARCH_ACCOUNT).client("iam").get_role(RoleName="research-pipeline")["Role"]["RoleId"]
    assert user_id == f"{role_id}:alice@example.com"

    # When she drops the model (import.json tagged with her own UserId)
    _drop((alice.client("s3"), bucket), submitted_by="claimed@example.com")
    hub.wait_for_executions(timeout=120)

    # Then the version records her verified identity beside the manifest's claim
    version = _version(hub)
    assert version["status"] in IMPORTED
    assert version["submitter"] == {"user_id": user_id, "account": RESEARCH_ACCOUNT, "person": "alice@example.com"}
    assert version["submitted_by"] == "claimed@example.com"
    # and so does the audit record of RegisterVersion (its actor is still the claim)
    [registered] = [r for r in audit.read_stream("model#support-bot", table=hub.outputs["AuditTableName"])
                    if r["action"] == "RegisterVersion"]
    detail = json.loads(registered["detail"]) if isinstance(registered["detail"], str) else registered["detail"]
    assert detail["submitter"] == version["submitter"] and registered["actor"] == "claimed@example.com"


def test_a_manifest_not_tagged_with_its_uploaders_own_id_is_refused_by_s3_and_starts_nothing(hub, research):
    # Given alice's artifacts in place, and bob of the same team
    _, bucket = research
    alice, bob = _research_person(hub, bucket, "alice@example.com"), _research_person(hub, bucket, "bob@example.com")
    s3 = alice.client("s3")
    prefix = "models/support-bot/1.0.0"
    sample_model.upload(s3, bucket, prefix, sample_model.files(), None)
    body = json.dumps(sample_model.manifest("support-bot", "1.0.0")).encode()

    # When she writes import.json without the tag, or tagged with bob's id or the account's
    for user_id in (None, bob.client("sts").get_caller_identity()["UserId"], RESEARCH_ACCOUNT):
        kwargs = {"Tagging": sample_model.submitter_tagging(user_id)} if user_id else {}
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket=bucket, Key=f"{prefix}/import.json", Body=body, **kwargs)

        # Then S3 refuses it in the research account, so no import starts
        assert refused.value.response["Error"]["Code"] == "AccessDenied", user_id
    hub.wait_for_executions(timeout=30)
    assert _import_executions(hub) == [] and _version(hub) == {}


def test_an_untagged_manifest_of_a_spoke_without_the_rule_is_imported_with_no_verified_submitter(hub, research):
    # Given a research bucket policy from before the rule (no DenyManifestWithoutVerifiedSubmitter)
    s3, bucket = research
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "DenyManifestWithoutVerifiedSubmitter"]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    # When a manifest is written without the tag
    prefix = "models/support-bot/1.0.0"
    sample_model.upload(s3, bucket, prefix, sample_model.files(), None)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/import.json", Body=json.dumps(sample_model.manifest("support-bot", "1.0.0")).encode())
    hub.wait_for_executions(timeout=120)

    # Then it is imported, with the claim only: nothing says who verifiably submitted it
    version = _version(hub)
    assert version["status"] in IMPORTED and "submitter" not in version
    assert version["submitted_by"] == "research-pipeline@example.com"


@pytest.mark.parametrize("user_id, person", [
    ("AROAEXAMPLEROLEID0001:alice@example.com", "alice@example.com"),  # a role session (an Identity Center user)
    ("AIDAEXAMPLEUSERID0001", "AIDAEXAMPLEUSERID0001"),  # an IAM user
    (RESEARCH_ACCOUNT, RESEARCH_ACCOUNT),  # the account's root user
    (None, None),  # no tag
])
def test_the_person_of_a_verified_user_id(monkeypatch, user_id, person):
    from genai_hub.model_import import submitter_of

    monkeypatch.setenv("RESEARCH_ACCOUNT_ID", RESEARCH_ACCOUNT)
    found = submitter_of(user_id)
    assert found == (None if user_id is None else {"user_id": user_id, "account": RESEARCH_ACCOUNT, "person": person})


def test_a_research_account_in_another_region_is_imported_from():
    # Given a hub in us-east-1 whose research account keeps its bucket and KMS key in us-west-2
    with LocalHub(parameters={"ResearchRegion": "us-west-2"}) as hub:
        outputs = hub.deploy_research_spoke()
        bedrock_emulation.reset_import_outcomes()
        s3 = hub.account_session(RESEARCH_ACCOUNT).client("s3", region_name="us-west-2")

        # When the research team drops a model there
        _drop((s3, outputs["ArtifactBucketName"]), tenants=["acme-retail"])
        hub.wait_for_executions(timeout=120)

        # Then the grants are verified against the key of that Region, and the model is imported
        [execution] = _import_executions(hub)
        assert execution["status"] == "SUCCEEDED", hub.history(execution["executionArn"])[-3:]
        assert _version(hub)["status"] in IMPORTED
        exits = [e["stateExitedEventDetails"] for e in hub.history(execution["executionArn"]) if "stateExitedEventDetails" in e]
        verified = json.loads(next(e["output"] for e in exits if e["name"].startswith("Verify")))
        assert ":kms:us-west-2:111111111111:key/" in json.dumps(verified)


def test_manifest_uploaded_twice_makes_one_version_and_one_job(hub, research):
    s3, bucket = research
    prefix = _drop(research)
    sample_model.put_manifest(s3, bucket, f"{prefix}/import.json", json.dumps(sample_model.manifest("support-bot", "1.0.0")).encode())

    hub.wait_for_executions(timeout=120)

    assert len(_import_executions(hub)) == 2
    assert _version(hub)["status"] in IMPORTED
    assert len(_jobs(hub)) == 1
    assert _import_actions(hub) == IMPORT_ACTIONS


def _without(name):
    files = sample_model.files()
    del files[name]
    return files


def _with(name, body):
    files = sample_model.files()
    files[name] = body
    return files


BAD_DROPS = {
    "unsupported architecture": (_with("config.json", json.dumps({"architectures": ["BertForMaskedLM"], "model_type": "bert"}).encode()),
                                 "UnsupportedArchitecture", "BertForMaskedLM"),
    "missing tokenizer": (_without("tokenizer.json"), "ArtifactMissing", "tokenizer.json or tokenizer.model"),
    "corrupt safetensors header": (_with("model-00002-of-00002.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{broken json....."),
                                   "CorruptSafetensors", "model-00002-of-00002.safetensors"),
    "missing config.json": (_without("config.json"), "ArtifactMissing", "config.json"),
}


@pytest.mark.parametrize("case", BAD_DROPS, ids=list(BAD_DROPS))
def test_bad_artifacts_fail_fast_with_the_named_reason_and_no_job(hub, research, hub_events, case):
    files, error, named = BAD_DROPS[case]
    _drop(research, files=files)

    hub.wait_for_executions(timeout=60)

    version = _version(hub)
    assert (version["status"], version["failure_error"]) == ("FAILED", error)
    assert named in version["failure_reason"]
    assert _jobs(hub) == []
    [failed] = hub_events("ModelImportFailed")
    assert failed["detail"]["error"] == error
    records = audit.read_stream("model#support-bot", table=hub.outputs["AuditTableName"])
    assert [(r["action"], r["outcome"]) for r in records] == [("FailImport", "FAILED")]  # no evaluation either


def test_bucket_policy_without_the_grant_fails_before_any_job_naming_the_statement(hub, research):
    s3, bucket = research
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "AllowHubImportRoleRead"]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    _drop(research)
    hub.wait_for_executions(timeout=60)

    # As on AWS, the hub's first read through the import role (import.json) is refused: the drop is
    # rejected there, before any version or job exists. (Until IAM was enforced on S3, the read
    # succeeded and only the grant verifier noticed.)
    assert "s3:GetObject" in _rejected_at_first_read(hub)


def test_key_policy_without_decrypt_fails_before_any_job(hub, research):
    kms = hub.client("kms", account_id=RESEARCH_ACCOUNT)
    key_id = hub.research["ArtifactKeyArn"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "AllowHubImportRoleDecrypt"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))

    _drop(research)
    hub.wait_for_executions(timeout=60)

    # As on AWS, S3 decrypts import.json with the key as the import role (kms:ViaService s3): refused
    # at the first read, before any version or job exists (until KMS was enforced through S3, only
    # the grant verifier noticed).
    assert "kms:Decrypt" in _rejected_at_first_read(hub)


def test_two_drops_at_once_are_both_imported_one_job_at_a_time(hub, research):
    before = bedrock_emulation.rejected_concurrent_creates
    _drop(research, name="support-bot")
    _drop(research, name="claims-triage")

    hub.wait_for_executions(timeout=180)

    assert _version(hub, "support-bot")["status"] in IMPORTED
    assert _version(hub, "claims-triage")["status"] in IMPORTED
    jobs = sorted(_jobs(hub), key=lambda j: j["creationTime"])
    assert len(jobs) == 2
    # the second job started only after the first ended
    assert jobs[1]["creationTime"] >= jobs[0]["endTime"]
    assert bedrock_emulation.rejected_concurrent_creates == before


def test_a_job_that_fails_in_bedrock_is_failed_with_its_message(hub, research, hub_events):
    bedrock_emulation.import_outcomes["support-bot-1-0-0"] = {"status": "Failed", "message": "Model weights do not match config.json"}
    _drop(research)

    hub.wait_for_executions(timeout=120)

    version = _version(hub)
    assert (version["status"], version["failure_error"]) == ("FAILED", "ImportJobFailed")
    assert "Model weights do not match config.json" in version["failure_reason"]
    assert [e["detail"]["error"] for e in hub_events("ModelImportFailed")] == ["ImportJobFailed"]
    # the slot is free again: the next drop imports
    bedrock_emulation.import_outcomes.clear()
    _drop(research, name="claims-triage")
    hub.wait_for_executions(timeout=120)
    assert _version(hub, "claims-triage")["status"] in IMPORTED


def test_a_job_that_never_finishes_reaches_the_deadline_and_is_audited():
    with LocalHub(parameters={"ImportDeadlineSeconds": 4}) as hub:
        outputs = hub.deploy_research_spoke()
        bedrock_emulation.import_outcomes["support-bot-1-0-0"] = {"status": "Hang"}
        try:
            _drop((hub.account_session(RESEARCH_ACCOUNT).client("s3"), outputs["ArtifactBucketName"]))
            hub.wait_for_executions(timeout=120)
        finally:
            bedrock_emulation.reset_import_outcomes()
        version = _version(hub)
        assert (version["status"], version["failure_error"]) == ("FAILED", "ImportDeadlineExceeded")
        last = audit.read_stream("model#support-bot", table=hub.outputs["AuditTableName"])[-1]
        assert (last["action"], json.loads(last["detail"])["error"]) == ("FailImport", "ImportDeadlineExceeded")


def test_invalid_manifest_is_rejected_naming_the_field(hub, research, hub_events):
    manifest = sample_model.manifest("support-bot", "1.0.0")
    del manifest["lineage"]
    _drop(research, manifest=manifest)

    hub.wait_for_executions(timeout=60)

    [execution] = _import_executions(hub)
    assert hub.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["error"] == "InputRejected"
    [rejected] = hub_events("WorkflowInputRejected")
    assert "$.lineage" in rejected["detail"]["reason"] and "import.json" in rejected["detail"]["reason"]
    assert _jobs(hub) == []


def test_hubctl_import_reruns_a_fixed_drop_and_models_show_tells_the_story(hub, research, capsys):
    # Given a drop that failed for a missing tokenizer
    s3, bucket = research
    prefix = _drop(research, files=_without("tokenizer.json"))
    hub.wait_for_executions(timeout=60)
    assert _version(hub)["status"] == "FAILED"

    # When the research team adds the file and an admin re-runs the drop by hand
    s3.put_object(Bucket=bucket, Key=f"{prefix}/tokenizer.json", Body=sample_model.files()["tokenizer.json"])
    assert hubctl(["import", prefix, "--requested-by", "admin@example.com"]) == 0
    hub.wait_for_executions(timeout=120)

    # Then the version is imported, and hubctl shows versions, lineage and the audit trail
    assert _version(hub)["status"] in IMPORTED
    capsys.readouterr()
    assert hubctl(["models", "list"]) == 0
    assert "support-bot" in capsys.readouterr().out
    assert hubctl(["models", "show", "support-bot"]) == 0
    out = capsys.readouterr().out
    for expected in ("meta-llama/Llama-3.1-8B-Instruct", "training-job/support-bot-1-0-0", "FailImport", "MarkImported"):
        assert expected in out


def test_a_broken_duplicate_drop_never_fails_a_version_that_was_imported(hub, research):
    # Given a version imported (and evaluated) from a good drop
    s3, bucket = research
    prefix = _drop(research)
    hub.wait_for_executions(timeout=120)
    before = _version(hub)
    assert before["status"] in IMPORTED and before["status"] != "IMPORTING"

    # When the same version is dropped again, now broken (no tokenizer)
    s3.delete_object(Bucket=bucket, Key=f"{prefix}/tokenizer.json")
    sample_model.put_manifest(s3, bucket, f"{prefix}/import.json", json.dumps(sample_model.manifest("support-bot", "1.0.0")).encode())
    hub.wait_for_executions(timeout=120)

    # Then the second run failed, but the registered version is untouched
    after = _version(hub)
    assert (after["status"], after["imported_model_arn"]) == (before["status"], before["imported_model_arn"])
    assert _import_actions(hub)[-1] == "FailImport"
