"""Evaluation gate on the local engine: an imported model reaches tenants only after it passes."""
import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import acting_as, sample

from genai_hub import audit, evaluation
from hubctl.cli import main as hubctl
from hubsim import sample_model
from hubsim.engine import HUB_ACCOUNT, RESEARCH_ACCOUNT
from hubsim.patches import bedrock as bedrock_emulation

ROOT = Path(__file__).resolve().parent.parent
DATASET = [json.loads(line) for line in (ROOT / "datasets/support-qa-v1.jsonl").read_text().splitlines() if line.strip()]
GOOD = {"answers": {row["prompt"]: row["reference"] for row in DATASET}, "latency_ms": 240}
BAD = {"answers": {}, "default": "I can't help with that request.", "latency_ms": 240}


@pytest.fixture
def tenants(hub, onboard):
    """acme-retail (us, ACTIVE), bavaria-bank (eu, ACTIVE), kyoto-games (FAILED)."""
    onboard(sample("onboarding/acme-retail-us.json"))
    onboard(sample("onboarding/bavaria-bank-eu.json"))
    onboard(sample("onboarding/kyoto-games-no-apac-profile.json"))
    return ["acme-retail", "bavaria-bank", "kyoto-games"]


@pytest.fixture
def research(hub):
    outputs = hub.deploy_research_spoke()
    bedrock_emulation.reset_import_outcomes()
    return hub.account_session(RESEARCH_ACCOUNT).client("s3"), outputs["ArtifactBucketName"]


SETTLED = {"AWAITING_APPROVAL", "APPROVED", "REJECTED", "FAILED"}


def _settle(hub, name="support-bot", version="1.0.0", timeout=180) -> dict:
    """Wait (with a deadline) until the version is decided or waits for a person, and nothing else runs."""
    deadline = time.monotonic() + timeout
    while True:
        found = _version(hub, name, version)
        if found.get("status") in SETTLED:
            running = [e for e in hub.executions() if e["status"] == "RUNNING"]
            # only the evaluation waiting for a decision may still be running
            if len(running) <= (1 if found["status"] == "AWAITING_APPROVAL" else 0):
                return found
        assert time.monotonic() < deadline, f"{name} {version} still {found.get('status')} after {timeout}s"
        time.sleep(0.2)


def _import(hub, research, answers: dict, name="support-bot", version="1.0.0", policy=None, tenants=(), config=None):
    s3, bucket = research
    files = {**sample_model.files(config=config), "hubsim-answers.json": json.dumps(answers).encode()}
    extra = {"evaluation_policy": policy} if policy else {}
    sample_model.upload(s3, bucket, f"models/{name}/{version}", files, sample_model.manifest(name, version, tenants=tenants, **extra))
    return _settle(hub, name, version)


def _version(hub, name="support-bot", version="1.0.0") -> dict:
    from genai_hub.registry import from_item

    item = hub.client("dynamodb").get_item(
        TableName=hub.outputs["RegistryTableName"], ConsistentRead=True,
        Key={"pk": {"S": f"MODEL#{name}"}, "sk": {"S": f"VERSION#{version}"}}).get("Item")
    return from_item(item) if item else {}


def _actions(hub, stream):
    return [r["action"] for r in audit.read_stream(stream, table=hub.outputs["AuditTableName"])]


def test_a_passing_model_waits_for_approval_then_reaches_only_tenants_that_may_use_it(hub, tenants, research, hub_events, capsys):
    # Given an imported model that answers the dataset well, requested by three tenants
    _import(hub, research, GOOD, tenants=tenants)

    # Then it passed the gate and waits for a person (default policy)
    version = _version(hub)
    assert version["status"] == "AWAITING_APPROVAL"
    assert version["evaluation"]["passed"] is True
    assert float(version["evaluation"]["aggregate"]["token_f1"]) == 1.0

    # When an approver approves it, signed in as herself
    with acting_as(hub.decider_credentials("maria@example.com")):
        assert hubctl(["approve", "support-bot", "1.0.0", "--approver", "Maria Rossi"]) == 0
    hub.wait_for_executions(timeout=60)

    # Then it is APPROVED, by the identity AWS verified, and granted to the ACTIVE tenant whose residency admits us-east-1 only
    version = _version(hub)
    maria = f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/hub-approver/maria@example.com"
    assert (version["status"], version["approved_by"]) == ("APPROVED", maria)
    [promoted] = hub_events("ModelPromoted")
    assert promoted["detail"]["granted"] == ["acme-retail"]
    skipped = {s["tenant_id"]: s["reason"] for s in promoted["detail"]["skipped"]}
    assert "outside data residency 'eu'" in skipped["bavaria-bank"]
    assert "not ACTIVE" in skipped["kyoto-games"]
    from conftest import registry_items
    assert f"GRANT#support-bot:1.0.0" in registry_items(hub, "acme-retail")
    assert not [k for k in registry_items(hub, "bavaria-bank") if "support-bot" in k]
    # and the tenant's application may now invoke the imported model, with hub credentials it gets
    session = hub.tenant_session("acme-retail", "222222222222")
    assert session.hub_models["imported_models"] == {"support-bot:1.0.0": version["imported_model_arn"]}
    answer = session.client("bedrock-runtime").converse(
        modelId=version["imported_model_arn"], messages=[{"role": "user", "content": [{"text": "hello"}]}])
    assert answer["output"]["message"]["content"][0]["text"]
    # and the approver is in the model's audit, the grant in the tenant's
    records = audit.read_stream("model#support-bot", table=hub.outputs["AuditTableName"])
    assert [r["action"] for r in records][-5:] == ["StartEvaluation", "EvaluateModel", "RequestApproval", "Decide", "PromoteVersion"]
    assert records[-1]["actor"] == records[-2]["actor"] == maria
    assert json.loads(records[-2]["detail"])["claimed_name"] == "Maria Rossi"
    assert [a for a in _actions(hub, "tenant#acme-retail") if a != "VendCredentials"][-1] == "GrantModel"
    assert audit.verify_chain("model#support-bot", records) is None
    # and hubctl shows the grant on the tenant and the evaluation
    capsys.readouterr()
    assert hubctl(["tenants", "show", "acme-retail"]) == 0
    shown = capsys.readouterr().out
    assert "support-bot:1.0.0" in shown and "imported model" in shown
    assert hubctl(["evaluations", "show", "support-bot", "1.0.0"]) == 0
    out = capsys.readouterr().out
    assert "token_f1" in out and "passed" in out and "Worst items" in out


def test_a_failing_model_is_rejected_with_its_failing_metrics_and_granted_to_no_one(hub, tenants, research, hub_events):
    _import(hub, research, BAD, tenants=tenants)

    version = _version(hub)
    assert version["status"] == "REJECTED"
    failing = {f["metric"] for f in version["evaluation"]["failures"]}
    assert {"token_f1", "rouge_l", "refusal_rate"} <= failing
    [rejected] = hub_events("ModelRejected")
    assert rejected["detail"]["rejected_by"] == "genai-hub" and "thresholds not met" in rejected["detail"]["reason"]
    assert hub_events("ModelPromoted") == []
    assert "GrantModel" not in _actions(hub, "tenant#acme-retail")


def test_a_person_can_reject_a_version_that_passed(hub, research, hub_events):
    _import(hub, research, GOOD)
    assert _version(hub)["status"] == "AWAITING_APPROVAL"

    li = hub.decider_credentials("li@example.com")
    with acting_as(li):
        assert hubctl(["reject", "support-bot", "1.0.0", "--reason", "tone not on brand"]) == 0
    hub.wait_for_executions(timeout=60)

    version = _version(hub)
    li_arn = f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/hub-approver/li@example.com"
    assert (version["status"], version["rejected_by"], version["rejection_reason"]) == ("REJECTED", li_arn, "tone not on brand")
    last = audit.read_stream("model#support-bot", table=hub.outputs["AuditTableName"])[-1]
    assert (last["action"], last["actor"]) == ("RejectVersion", li_arn)
    # and nobody can decide twice
    with acting_as(li):
        assert hubctl(["approve", "support-bot", "1.0.0"]) == 1


def test_an_approval_nobody_gives_expires_as_rejected(hub, research, monkeypatch, tmp_path):
    # Given a policy whose approval waits 2 s, with timeouts taken literally
    from hubsim.patches import stepfunctions as sfn_patch

    policies = tmp_path / "policies"
    shutil.copytree(evaluation._POLICIES, policies)
    quick = json.loads((policies / "default.json").read_text())
    quick.update(name="quick-approval", human_approval={"required": True, "timeout_seconds": 2})
    (policies / "quick-approval.json").write_text(json.dumps(quick))
    monkeypatch.setattr(evaluation, "_POLICIES", policies)
    monkeypatch.setattr(sfn_patch, "timeout_scale", 1.0)

    _import(hub, research, GOOD, policy="quick-approval")
    hub.wait_for_executions(timeout=30)  # nobody answers: the wait ends by itself

    version = _version(hub)
    assert version["status"] == "REJECTED"
    assert "approval expired after 2 s" in version["rejection_reason"]


def test_strict_policy_promotes_without_a_person(hub, tenants, research, hub_events):
    _import(hub, research, GOOD, policy="strict-support", tenants=["acme-retail"])

    version = _version(hub)
    assert version["status"] == "APPROVED" and version["approved_by"] == "policy: no approval required"
    assert hub_events("ModelPromoted")[0]["detail"]["granted"] == ["acme-retail"]


def test_the_same_model_imported_event_twice_runs_one_evaluation(hub, research):
    _import(hub, research, BAD)
    [imported] = [e for e in hub.executions(hub.outputs["ModelImportStateMachineArn"])]
    detail = json.loads(hub.client("stepfunctions").describe_execution(executionArn=imported["executionArn"])["output"])["imported"]

    hub.put_event("ModelImported", detail)
    hub.wait_for_executions(timeout=60)

    evaluations = hub.executions(hub.outputs["EvaluationStateMachineArn"])
    assert len(evaluations) == 2 and {e["status"] for e in evaluations} == {"SUCCEEDED"}
    assert _actions(hub, "model#support-bot").count("StartEvaluation") == 1


def test_a_model_that_converse_does_not_serve_is_evaluated_through_invoke_model(hub, research):
    # Given a Qwen2.5 model (model_type qwen2): Bedrock imports it, but Converse does not serve it
    qwen = {**sample_model.CONFIG, "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}
    _import(hub, research, GOOD, policy="strict-support", config=qwen)

    # Then the evaluation used InvokeModel with the completion body, scored every answer and promoted it
    version = _version(hub)
    assert hub.client("bedrock").get_imported_model(modelIdentifier=version["imported_model_arn"])["instructSupported"] is False
    assert version["status"] == "APPROVED", version.get("evaluation")
    assert float(version["evaluation"]["aggregate"]["error_rate"]) == 0.0
    started = [r for r in audit.read_stream("model#support-bot", table=hub.outputs["AuditTableName"]) if r["action"] == "StartEvaluation"]
    assert json.loads(started[-1]["detail"])["api"] == "invoke"


def test_a_model_still_loading_is_waited_for_not_scored_as_an_error(hub, research):
    # Given an imported model that answers ModelNotReadyException 6 times (idle, being loaded again):
    # more than the SDK's own 5 attempts
    _import(hub, research, {**GOOD, "not_ready_first": 6}, policy="strict-support")

    # Then the state machine waited for it: no item scored as an error, the version promoted
    version = _version(hub)
    assert version["status"] == "APPROVED", version.get("evaluation")
    assert float(version["evaluation"]["aggregate"]["error_rate"]) == 0.0


def test_throttling_is_retried_and_the_evaluation_completes(hub, research):
    _import(hub, research, {**GOOD, "throttle_first": 3}, policy="strict-support")

    version = _version(hub)
    assert version["status"] == "APPROVED"
    assert float(version["evaluation"]["aggregate"]["error_rate"]) == 0.0
