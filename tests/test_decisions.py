"""Human decisions through the hub's decision door (functions/decide, genai_hub.decisions).

Who approved is who AWS verified: hubctl signs a request to an IAM-authorised function URL; the
decision function checks the decision policy and four-eyes, answers the workflow and audits the
verified ARN. No other principal can answer the workflow: IAM refuses SendTaskSuccess to it.
"""
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import acting_as

from genai_hub import audit, decisions
from hubctl import decide
from hubctl.cli import main as hubctl
from hubctl.stack import Hub
from hubsim import sample_model
from hubsim.engine import HUB_ACCOUNT, RESEARCH_ACCOUNT, session_of
from hubsim.patches import bedrock as bedrock_emulation
from test_evaluation import GOOD, _settle, _version



@pytest.fixture
def waiting(hub):
    """support-bot 1.0.0 uploaded by ana@example.com from the research account, passed, AWAITING_APPROVAL."""
    research = hub.deploy_research_spoke()
    bedrock_emulation.reset_import_outcomes()
    bucket = research["ArtifactBucketName"]
    ana = hub.research_person_session("ana@example.com")
    files = {**sample_model.files(), "hubsim-answers.json": json.dumps(GOOD).encode()}
    sample_model.upload(ana.client("s3"), bucket, "models/support-bot/1.0.0", files, sample_model.manifest("support-bot", "1.0.0"))
    assert _settle(hub)["status"] == "AWAITING_APPROVAL"
    return _version(hub)


def _records(hub) -> list[dict]:
    return audit.read_stream("model#support-bot", table=hub.outputs["AuditTableName"])


def test_only_an_allowed_second_person_approves_and_each_attempt_is_audited_as_aws_verified_it(hub, waiting, capsys):
    # Given the version S3 verified ana@example.com submitted
    assert waiting["submitter"]["person"] == "ana@example.com"
    assert waiting["submitter"]["account"] == RESEARCH_ACCOUNT

    # When bob, who may call the door but is no approver, approves it
    bob = hub.person_credentials("hub-viewer", "bob@example.com", policy_arns=(hub.outputs["DeciderPolicyArn"],))
    capsys.readouterr()
    with acting_as(bob):
        assert hubctl(["approve", "support-bot", "1.0.0", "--approver", "Ana Lopez"]) == 1
    # Then he is refused by the hub-wide rule, which the message names
    err = capsys.readouterr().err
    assert "decisions.approve" in err and "genai-hub-approver=true" in err

    # When ana, an approver in the hub account too, approves her own version
    with acting_as(hub.decider_credentials("ana@example.com")):
        assert hubctl(["approve", "support-bot", "1.0.0"]) == 1
    assert "four_eyes.submitter_cannot_approve" in capsys.readouterr().err
    assert _version(hub)["status"] == "AWAITING_APPROVAL"

    # When carla, a second approver, approves it
    with acting_as(hub.decider_credentials("carla@example.com")):
        assert hubctl(["approve", "support-bot", "1.0.0", "--approver", "Carla Diaz"]) == 0
    carla = f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/hub-approver/carla@example.com"
    assert f"as {carla}" in capsys.readouterr().out
    hub.wait_for_executions(timeout=60)

    # Then the version is APPROVED by carla's verified ARN
    version = _version(hub)
    assert (version["status"], version["approved_by"]) == ("APPROVED", carla)
    # and the audit holds the three attempts with the ARNs AWS verified, the rule of each, the names as claims
    attempts = [r for r in _records(hub) if r["workflow"] == "decisions"]
    assert [(r["action"], r["outcome"], r["actor"], json.loads(r["detail"]).get("rule")) for r in attempts] == [
        ("RefuseDecision", "REFUSED", f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/hub-viewer/bob@example.com", "decisions.approve"),
        ("RefuseDecision", "REFUSED", f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/hub-approver/ana@example.com",
         "four_eyes.submitter_cannot_approve"),
        ("Decide", "APPROVED", carla, "decisions.approve")]
    assert json.loads(attempts[0]["detail"])["claimed_name"] == "Ana Lopez"  # a claim beside the verified ARN, nothing more
    assert json.loads(attempts[2]["detail"])["principal"]["principal_arn"] == f"arn:aws:iam::{HUB_ACCOUNT}:role/hub-approver"
    assert [r["action"] for r in _records(hub)][-1] == "PromoteVersion"
    assert audit.verify_chain("model#support-bot", _records(hub)) is None


def test_no_one_else_can_answer_the_waiting_workflow(hub, waiting, capsys):
    token = hub.client("dynamodb").get_item(TableName=hub.outputs["RegistryTableName"], ConsistentRead=True, Key={
        "pk": {"S": "MODEL#support-bot"}, "sk": {"S": "APPROVAL#1.0.0"}})["Item"]["task_token"]["S"]
    # Given an approver who even knows the task token
    approver = session_of(hub.decider_credentials("dave@example.com"), hub.region)

    # When she answers the workflow herself, IAM refuses: only the decision function's role may
    with pytest.raises(ClientError) as refused:
        approver.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps({"approver": "dave"}))
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "states:SendTaskSuccess" in refused.value.response["Error"]["Message"]
    # and calling the decision function other than through its URL is refused too (DeciderPolicy's condition)
    with pytest.raises(ClientError) as invoked:
        approver.client("lambda").invoke(FunctionName=_function_name(hub), Payload=b"{}")
    assert invoked.value.response["Error"]["Code"] == "AccessDeniedException"

    # When a principal of another account, allowed by its own policy, calls the door: Lambda refuses it
    outsider = hub.person_credentials("hub-decider", "eve@example.com", account_id=RESEARCH_ACCOUNT, policy={
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"],
                                                "Resource": "*"}, {"Effect": "Allow", "Action": "cloudformation:DescribeStacks",
                                                                   "Resource": "*"}]})
    # (it finds the URL as a person of the hub would; the stack is read with the hub's own credentials)
    capsys.readouterr()
    with acting_as(outsider):
        outsider_hub = Hub(session=session_of(outsider, hub.region), endpoint_url=None, outputs=hub.outputs)
        with pytest.raises(decide.DecisionRefused, match="DeciderPolicy"):
            decide.send(outsider_hub, {"action": "approve", "model": "support-bot", "version": "1.0.0"})

    # When an IAM user of the hub account with the door's policy but no approver tag decides: refused, naming him
    iam = hub.client("iam")
    iam.create_user(UserName="frank")
    iam.attach_user_policy(UserName="frank", PolicyArn=hub.outputs["DeciderPolicyArn"])
    key = iam.create_access_key(UserName="frank")["AccessKey"]
    frank = Hub(session=boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                                              region_name=hub.region), endpoint_url=None, outputs=hub.outputs)
    with pytest.raises(decide.DecisionRefused, match=f"arn:aws:iam::{HUB_ACCOUNT}:user/frank may not approve"):
        decide.send(frank, {"action": "approve", "model": "support-bot", "version": "1.0.0"})

    # When the account's root user decides: refused, the trail must name a person
    assert hubctl(["approve", "support-bot", "1.0.0"]) == 1
    assert "no-root" in capsys.readouterr().err
    # Then the version still waits, for the one door: a rejection through it ends the wait
    assert _version(hub)["status"] == "AWAITING_APPROVAL"
    with acting_as(hub.decider_credentials("dave@example.com")):
        assert hubctl(["reject", "support-bot", "1.0.0", "--reason", "ends the test"]) == 0
    hub.wait_for_executions(timeout=60)
    assert _version(hub)["status"] == "REJECTED"


def _function_name(hub) -> str:
    return next(f["FunctionName"] for f in hub.client("lambda").list_functions()["Functions"] if "DecideFunction" in f["FunctionName"])


@pytest.mark.parametrize("where, rules, expected", [
    ("models", {"models": {"support-bot": {"approve": {"principals": ["arn:aws:iam::{account}:role/bots-*"]}}}}, "models.support-bot.approve"),
    ("evaluation policy", {"evaluation_policies": {"strict-support": {"approve": {"principal_tags": {"team": "qa"}}}}},
     "evaluation_policies.strict-support.approve"),
    ("hub-wide", {}, "decisions.approve"),
])
def test_the_most_specific_rule_applies(monkeypatch, where, rules, expected):
    document = {**decisions.policy(), **rules}
    monkeypatch.setattr(decisions, "policy", lambda: document)
    rule, found = decisions.rule_for("approve", "support-bot", "strict-support")
    assert found == expected


def test_principal_patterns_and_tags_match_as_the_policy_says(monkeypatch):
    role = decisions.Caller(arn="arn:aws:sts::111111111111:assumed-role/bots-approver/maria", user_id="AROAX:maria",
                            account="111111111111", principal_arn="arn:aws:iam::111111111111:role/bots-approver",
                            kind="role-session", tags={"team": "qa"})
    assert decisions._matches({"principals": ["arn:aws:iam::{account}:role/bots-*"]}, role)
    assert not decisions._matches({"principals": ["arn:aws:iam::222222222222:role/bots-*"]}, role)
    assert decisions._matches({"principal_tags": {"team": "qa"}}, role)
    assert not decisions._matches({"principal_tags": {"team": "qa", "level": "senior"}}, role)
    assert role.person == "maria"
    # four-eyes compares people: the same session name in another account's role is the same person
    monkeypatch.setattr(decisions, "rule_for", lambda *a: ({"principal_tags": {"team": "qa"}}, "decisions.approve"))
    with pytest.raises(decisions.DecisionRefused) as refused:
        decisions.check("approve", role, submitter={"user_id": "AROARESEARCH:maria", "account": "333333333333"})
    assert refused.value.rule == "four_eyes.submitter_cannot_approve"
    assert decisions.check("approve", role, submitter={"user_id": "AROARESEARCH:ana", "account": "333333333333"}) == "decisions.approve"


def _retirement(hub, model_id: str) -> dict:
    from hubctl.views import retirement_records
    from hubctl.stack import connect

    return retirement_records(connect("genai-hub"), model_id)[-1]


def _ended(hub, model_id: str, timeout: float = 60) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while (record := _retirement(hub, model_id))["status"] not in ("COMPLETED", "CANCELLED", "FAILED"):
        assert time.monotonic() < deadline, f"retirement of {model_id} still {record['status']}"
        time.sleep(0.2)
    return record


def test_a_retirement_of_every_tenant_goes_ahead_only_when_a_second_person_confirmed_it(hub, onboard, monkeypatch, capsys):
    from conftest import sample

    onboard(sample("onboarding/acme-retail-us.json"))
    # Given a decision policy that wants retirements of every tenant confirmed by a second person
    document = {**decisions.policy(), "four_eyes": {**decisions.policy()["four_eyes"], "retirement_all_needs_confirmation": True}}
    monkeypatch.setattr(decisions, "policy", lambda: document)
    nova, claude = "amazon.nova-pro-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"
    mia, noah = hub.decider_credentials("mia@example.com", operator=True), hub.decider_credentials("noah@example.com", operator=True)

    # When a retirement of every tenant is started other than through the decision door: rejected, naming the field
    sfn = hub.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=hub.outputs["RetirementStateMachineArn"], input=json.dumps({
        "model": "amazon.nova-pro-v1", "version": "0", "tenants": "all", "reason": "x", "requested_by": "someone"}))
    hub.wait_for_executions(timeout=60)
    assert sfn.describe_execution(executionArn=started["executionArn"])["error"] == "InputRejected"

    # When mia retires nova for everyone through the door, and confirms it herself: refused
    with acting_as(mia):
        assert hubctl(["retire", nova, "--tenants", "all", "--grace", "PT3S", "--reason", "end of life"]) == 0
        assert hubctl(["retire", nova, "--confirm"]) == 1
    assert "four_eyes.retirement_all_needs_confirmation" in capsys.readouterr().err
    # and noah confirms it
    with acting_as(noah):
        assert hubctl(["retire", nova, "--confirm"]) == 0
    # Then it goes ahead at its date
    record = _ended(hub, nova)
    assert record["status"] == "COMPLETED"
    assert record["requested_by"] == f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/hub-operator/mia@example.com"
    assert record["confirmed_by"] == f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/hub-operator/noah@example.com"

    # When mia retires claude for everyone and nobody confirms: called off at its date, the grant restored
    with acting_as(mia):
        assert hubctl(["retire", claude, "--tenants", "all", "--grace", "PT2S", "--reason", "end of life"]) == 0
    record = _ended(hub, claude)
    assert record["status"] == "CANCELLED" and "nobody confirmed" in record["end_reason"]
    from conftest import registry_items

    assert registry_items(hub, "acme-retail")[f"GRANT#{claude}"].get("status", "ACTIVE") == "ACTIVE"
    decided = [(r["action"], r["outcome"]) for r in _records_of(hub, "model#amazon.nova-pro-v1") if r["workflow"] == "decisions"]
    assert decided == [("Decide", "REQUESTED"), ("RefuseDecision", "REFUSED"), ("Decide", "CONFIRMED")]


def _records_of(hub, stream: str) -> list[dict]:
    return audit.read_stream(stream, table=hub.outputs["AuditTableName"])
