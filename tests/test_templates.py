"""Static checks of every template, offline: `sam validate --lint`, and what the hub promises (cfn-lint with
the serverless rules and checkov: test_security_static.py)."""
import os
import subprocess
from pathlib import Path

import pytest
from conftest import tool

from hubsim.deploy import load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [ROOT / "template.yaml", *sorted((ROOT / "spokes").glob("*.yaml"))]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_sam_validate_lint_passes_offline(template):
    sam = tool("sam", ".venv-sam")
    if sam is None:
        pytest.skip("aws-sam-cli is not installed (make test installs it in .venv-sam)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sam, "validate", "--lint", "--region", "us-east-1", "--template-file", str(template)],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def _resources(kind: str) -> dict:
    return {k: v for k, v in load_template(ROOT / "template.yaml")["Resources"].items() if v["Type"] == kind}


def test_every_lambda_runs_python_3_12():
    template = load_template(ROOT / "template.yaml")
    assert template["Globals"]["Function"]["Runtime"] == "python3.12"
    assert all("Runtime" not in f["Properties"] for f in _resources("AWS::Serverless::Function").values())


def test_every_function_folder_is_deployed_and_every_function_has_a_folder():
    functions = _resources("AWS::Serverless::Function")
    folders = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    assert {f["Properties"]["CodeUri"].strip("/").split("/")[-1] for f in functions.values()} == folders


def test_every_task_is_wired_and_has_timeout_and_retry():
    import json

    machine = _resources("AWS::Serverless::StateMachine")["OnboardingStateMachine"]["Properties"]
    definition = json.loads((ROOT / machine["DefinitionUri"]).read_text())
    placeholders = set()
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            assert "TimeoutSeconds" in state, name
            assert state.get("Retry"), name
            if state["Resource"].startswith("${"):
                placeholders.add(state["Resource"][2:-1])
                retried = set(state["Retry"][0]["ErrorEquals"])
                assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= retried, name
                assert state["Retry"][0]["JitterStrategy"] == "FULL", name
    assert "TimeoutSeconds" in definition
    assert placeholders <= set(machine["DefinitionSubstitutions"]), placeholders - set(machine["DefinitionSubstitutions"])


def test_audit_table_is_append_only_for_the_workflows():
    policy = _resources("AWS::IAM::ManagedPolicy")["AuditWriterPolicy"]["Properties"]["PolicyDocument"]
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {"dynamodb:PutItem", "dynamodb:Query"}
    for name, fn in _resources("AWS::Serverless::Function").items():
        for policy in fn["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                assert "AuditTable" not in str(statement.get("Resource")), f"{name} reaches the audit table directly"


def test_registry_and_audit_tables_are_protected():
    for name in ("RegistryTable", "AuditTable"):
        table = _resources("AWS::DynamoDB::Table")[name]
        assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
        props = table["Properties"]
        assert props["DeletionProtectionEnabled"] is True
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True


def test_the_tenant_spoke_gives_the_hub_nothing_and_may_only_call_the_broker():
    # The tenant's template: no role the hub can assume, no IAM write, only a call of the broker's URL
    resources = load_template(ROOT / "spokes/tenant.yaml")["Resources"]
    trusted = [p for r in resources.values() if r["Type"] == "AWS::IAM::Role"
               for s in r["Properties"]["AssumeRolePolicyDocument"]["Statement"] for p in [s["Principal"]]]
    assert trusted == [{"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}]  # its own account only
    [policy] = [r for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"]
    assert statement["Resource"] == {"Ref": "HubCredentialsFunctionArn"}


def test_tenant_access_role_is_trusted_by_the_broker_only_and_limited_by_tags():
    resources = load_template(ROOT / "template.yaml")["Resources"]
    [trust] = resources["TenantAccessRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::GetAtt": ["VendTenantCredentialsRole", "Arn"]}}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    statements = {s["Sid"]: s for s in resources["TenantAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    hub_guardrails = [{"Fn::Sub": "${StandardGuardrail.GuardrailArn}:${StandardGuardrailVersion.Version}"},
                      {"Fn::Sub": "${StrictGuardrail.GuardrailArn}:${StrictGuardrailVersion.Version}"}]
    assert statements["OwnGrantedApplicationProfiles"]["Condition"]["StringEquals"] == {
        "aws:ResourceTag/genai-hub:tenant-id": "${aws:PrincipalTag/genai-hub:tenant-id}", "aws:ResourceTag/genai-hub:access": "granted",
        "bedrock:GuardrailIdentifier": hub_guardrails}
    assert "bedrock:InferenceProfileArn" in statements["FoundationModelsOnlyThroughHubProfiles"]["Condition"]["ArnLike"]
    # every invoke statement needs one of the hub's guardrails (a call without one is refused by IAM)
    invoking = [s for s in statements.values() if s["Effect"] == "Allow" and "bedrock:InvokeModel" in s["Action"]]
    assert len(invoking) == 3 and all(s["Condition"]["StringEquals"]["bedrock:GuardrailIdentifier"] == hub_guardrails for s in invoking)
    assert statements["ApplyTheHubGuardrails"]["Resource"] == [{"Fn::GetAtt": ["StandardGuardrail", "GuardrailArn"]},
                                                              {"Fn::GetAtt": ["StrictGuardrail", "GuardrailArn"]}]
    assert statements["NoSessionWithoutTenantTag"]["Effect"] == "Deny"


def test_required_stack_outputs_exist():
    outputs = load_template(ROOT / "template.yaml")["Outputs"]
    assert {"EventBusName", "RegistryTableName", "AuditTableName", "OnboardingStateMachineArn"} <= set(outputs)


def test_parameters_that_link_accounts_have_no_default():
    """`sam deploy --guided` offers a parameter's default and Enter accepts it: a default research
    account, bucket or ExternalId would make a hub trust an account nobody chose. The emulation
    passes its own values (hubsim.engine.LOCAL_PARAMETERS)."""
    from hubsim.engine import LOCAL_PARAMETERS

    parameters = load_template(ROOT / "template.yaml")["Parameters"]
    linking = ("ResearchAccountId", "ResearchArtifactBucketName", "ResearchExternalId")
    assert [name for name in linking if "Default" in parameters[name]] == []
    assert all(name in LOCAL_PARAMETERS for name in linking)
