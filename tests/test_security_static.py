"""Static security of every template, read as CloudFormation after the SAM transform (so the roles,
rules and policies SAM generates are checked too): least privilege, confused-deputy protection,
append-only audit, protected and encrypted data, dead-letter queues with alarms, logged and traced
state machines. Linters run too: cfn-lint with the serverless rules, and checkov."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tool

from hubsim.deploy import load_template, translate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [ROOT / "template.yaml", *sorted((ROOT / "spokes").glob("*.yaml"))]
# Service principals whose trust policies honour aws:SourceAccount / aws:SourceArn. Lambda execution
# roles are left out: a role cannot be passed to a function of another account (iam:PassRole), and
# Lambda documents lambda:SourceFunctionArn instead.
CONFUSED_DEPUTY_SERVICES = {"states.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com",
                            "bedrock.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com"}
SOURCE_KEYS = {"aws:SourceAccount", "aws:SourceArn"}


def _packaged(path: Path) -> dict:
    """The template as `sam package` leaves it (code in S3, definitions inline), without an account."""
    template = load_template(path)
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://packaged/code.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = "s3://packaged/layer.zip"
        elif resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["Definition"] = json.loads((path.parent / props.pop("DefinitionUri")).read_text())
    return template


@pytest.fixture(scope="module", params=TEMPLATES, ids=lambda p: p.name)
def cfn(request, monkeypatch_module):
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return translate(_packaged(request.param), {})


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _resources(cfn: dict, kind: str) -> dict:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == kind}


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _statements(cfn: dict):
    """(resource, policy document statement) of every identity, resource and key policy in the template."""
    for name, resource in cfn["Resources"].items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", []) if isinstance(p, dict) and "PolicyDocument" in p]
        for key in ("PolicyDocument", "KeyPolicy"):
            if isinstance(props.get(key), dict):
                documents.append(props[key])
        for document in documents:
            for statement in _list(document.get("Statement", [])):
                yield name, statement


def _principals(statement: dict, kind: str) -> list:
    principal = statement.get("Principal", {})
    return _list(principal.get(kind, [])) if isinstance(principal, dict) else []


def _condition_keys(statement: dict) -> set[str]:
    return {key for operator in statement.get("Condition", {}).values() for key in operator}


def test_every_wildcard_resource_states_its_reason(cfn):
    unexplained = [(name, statement.get("Action")) for name, statement in _statements(cfn)
                   if "*" in _list(statement.get("Resource", [])) and not statement.get("Sid")]
    assert unexplained == [], "Resource \"*\" needs a Sid saying why (e.g. XRayHasNoResourceLevelPermissions)"


def _same_account(cfn: dict, principal) -> bool:
    """A principal of this template (a role it creates) or of its own account; anything else, such as
    a parameter naming another account's role, is cross-account."""
    if isinstance(principal, dict):
        if "Fn::GetAtt" in principal:
            return principal["Fn::GetAtt"][0] in cfn["Resources"]
        if "Fn::Sub" in principal:
            text = principal["Fn::Sub"] if isinstance(principal["Fn::Sub"], str) else principal["Fn::Sub"][0]
            return "${AWS::AccountId}" in text
    return False


def test_every_cross_account_trust_needs_an_external_id_or_a_source_condition(cfn):
    unprotected = []
    for name, role in _resources(cfn, "AWS::IAM::Role").items():
        for statement in _list(role["Properties"]["AssumeRolePolicyDocument"]["Statement"]):
            foreign = [p for p in _principals(statement, "AWS") if not _same_account(cfn, p)]
            if foreign and not _condition_keys(statement) & {"sts:ExternalId", "aws:SourceAccount", "aws:PrincipalAccount", "aws:SourceArn"}:
                unprotected.append((name, foreign))
    assert unprotected == [], "cross-account trust without an ExternalId or source condition"


def test_service_principals_carry_a_source_condition_where_supported(cfn):
    unprotected = []
    for name, role in _resources(cfn, "AWS::IAM::Role").items():
        for statement in _list(role["Properties"]["AssumeRolePolicyDocument"]["Statement"]):
            services = set(_principals(statement, "Service")) & CONFUSED_DEPUTY_SERVICES
            if services and not _condition_keys(statement) & SOURCE_KEYS:
                unprotected.append((name, sorted(services)))
    for name, statement in _statements(cfn):
        if statement.get("Effect") == "Allow" and set(_principals(statement, "Service")) & CONFUSED_DEPUTY_SERVICES:
            if not _condition_keys(statement) & SOURCE_KEYS:
                unprotected.append((name, _principals(statement, "Service")))
    assert unprotected == [], "a service may act for any account: add aws:SourceAccount or aws:SourceArn"


def test_the_audit_table_is_written_by_put_item_only(cfn):
    if "AuditTable" not in cfn["Resources"]:
        pytest.skip("no audit table in this template")
    for name, statement in _statements(cfn):
        if "AuditTable" in json.dumps(statement.get("Resource")) and statement.get("Effect") == "Allow":
            actions = set(_list(statement["Action"]))
            # Reads only besides PutItem; Scan: the digest and export functions read the whole trail (AuditReaderPolicy)
            assert actions <= {"dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:Scan"}, f"{name} may {sorted(actions)}"
            assert "dynamodb:Scan" not in actions or "dynamodb:PutItem" not in actions, f"{name} both reads the whole trail and writes it"


def test_registry_and_audit_tables_keep_history_and_survive_deletion(cfn):
    for name, table in _resources(cfn, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        if name == "IdempotencyTable":  # records expire after a day by design (TTL)
            continue
        assert table.get("DeletionPolicy") == "Retain" and table.get("UpdateReplacePolicy") == "Retain", name
        assert props.get("DeletionProtectionEnabled") is True, name
        assert props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True, name


def test_data_at_rest_is_encrypted(cfn):
    for name, table in _resources(cfn, "AWS::DynamoDB::Table").items():
        assert table["Properties"].get("SSESpecification", {}).get("SSEEnabled") is True, name
    for name, queue in _resources(cfn, "AWS::SQS::Queue").items():
        props = queue.get("Properties", {})
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, name
    for name, topic in _resources(cfn, "AWS::SNS::Topic").items():
        assert "KmsMasterKeyId" in topic.get("Properties", {}), name
    for name, bucket in _resources(cfn, "AWS::S3::Bucket").items():
        assert bucket["Properties"].get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration"), name


def _alarmed_queues(cfn: dict) -> set[str]:
    queues = set()
    for alarm in _resources(cfn, "AWS::CloudWatch::Alarm").values():
        for dimension in alarm["Properties"].get("Dimensions", []):
            if dimension.get("Name") == "QueueName":
                queues.add(json.dumps(dimension["Value"]))
    return queues


def _queue_of(arn) -> str:
    """The logical id of a queue referenced as {"Fn::GetAtt": [Queue, "Arn"]}."""
    assert isinstance(arn, dict) and "Fn::GetAtt" in arn, f"dead-letter queue {arn} is not a queue of this template"
    return arn["Fn::GetAtt"][0]


def test_every_rule_and_schedule_target_has_a_dead_letter_queue_with_an_alarm(cfn):
    alarmed = _alarmed_queues(cfn)
    targets = [(name, t) for name, rule in _resources(cfn, "AWS::Events::Rule").items() for t in rule["Properties"].get("Targets", [])]
    targets += [(name, s["Properties"]["Target"]) for name, s in _resources(cfn, "AWS::Scheduler::Schedule").items()]
    for name, target in targets:
        assert target.get("DeadLetterConfig", {}).get("Arn"), f"{name}: target {target.get('Id', '')} has no DLQ"
        queue = _queue_of(target["DeadLetterConfig"]["Arn"])
        assert json.dumps({"Fn::GetAtt": [queue, "QueueName"]}) in alarmed, f"{name}: no alarm on its DLQ {queue}"


def test_state_machines_log_and_trace(cfn):
    for name, machine in _resources(cfn, "AWS::StepFunctions::StateMachine").items():
        props = machine["Properties"]
        assert props.get("TracingConfiguration", {}).get("Enabled") is True, name
        logging = props.get("LoggingConfiguration", {})
        assert logging.get("Level") in ("ERROR", "ALL") and logging.get("Destinations"), name
        assert logging.get("IncludeExecutionData") is False, f"{name}: execution data (prompts, ExternalIds) would be logged"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_with_the_serverless_rules_passes(template):
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), "--append-rules", "cfn_lint_serverless.rules", "--", str(template)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_checkov_passes(template):
    checkov = tool("checkov", ".venv-checkov")
    if checkov is None:
        pytest.skip("checkov is not installed (make test installs it in .venv-checkov)")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"}
    result = subprocess.run([checkov, "--config-file", str(ROOT / ".checkov.yaml"), "--output", "json", "-f", str(template)],
                            capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    report = json.loads(result.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report.get("results", {}).get("failed_checks", [])]
    assert failed == [] and report["summary"]["parsing_errors"] == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert report["summary"]["passed"] > 0


def test_every_checkov_skip_is_justified_in_place():
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    start = lines.index("skip-check:")
    for number, line in enumerate(lines[start + 1:], start=start + 1):
        if line.strip().startswith("- CKV"):
            assert lines[number - 1].strip().startswith("#"), f".checkov.yaml:{number + 1}: {line.strip()} without a reason above it"
    for template in TEMPLATES:
        for name, resource in load_template(template)["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip.get("comment", "").strip()) > 20, f"{template.name}: {name} skips {skip['id']} without a reason"


PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "genai-hub"}


def _deployed(value, parameters: dict):
    """A template value as a deployment of stack genai-hub in 123456789012 / us-east-1 would have it:
    Fn::Sub and Ref of pseudo parameters and parameters (their defaults) resolved, recursively."""
    import re

    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}!]+)\}", lambda m: str(PSEUDO.get(m[1], parameters.get(m[1], m[0]))), value["Fn::Sub"])
    if isinstance(value, dict) and "Ref" in value and value["Ref"] in {**PSEUDO, **parameters}:
        return str({**PSEUDO, **parameters}[value["Ref"]])
    if isinstance(value, dict):
        return {k: _deployed(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_deployed(v, parameters) for v in value]
    return value


def test_every_state_machine_role_trusts_its_own_machine(cfn):
    # Step Functions assumes a machine's role with that machine's ARN as aws:SourceArn: a trust condition
    # naming another ARN makes creating the machine (or every execution) fail on AWS.
    from hubsim.patches.sts import service_may_assume

    parameters = {k: v.get("Default", "") for k, v in cfn.get("Parameters", {}).items()}
    machines = _resources(cfn, "AWS::StepFunctions::StateMachine")
    checked = []
    for name, machine in machines.items():
        props = _deployed(machine["Properties"], parameters)
        arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{props['StateMachineName']}"
        role_name = props["RoleArn"]["Fn::GetAtt"][0]
        role_arn = f"arn:aws:iam::123456789012:role/{role_name}"
        trust = _deployed(cfn["Resources"][role_name]["Properties"]["AssumeRolePolicyDocument"], parameters)
        context = {"aws:SourceArn": arn, "aws:SourceAccount": "123456789012"}
        assert service_may_assume(trust, "states.amazonaws.com", role_arn, context), f"{role_name} does not trust {name} ({arn})"
        # and no other machine of the account may use it
        other = {**context, "aws:SourceArn": f"arn:aws:states:us-east-1:123456789012:stateMachine:someone-else"}
        assert not service_may_assume(trust, "states.amazonaws.com", role_arn, other), f"{role_name} trusts any machine"
        checked.append(name)
    assert len(checked) == len(machines)
