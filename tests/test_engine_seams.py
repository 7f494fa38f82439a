"""The seams of hubsim.patches, one small test each (the `covered_by` of every PATCH).

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run.
"""
import io
import json
import os
import re
import sys
import textwrap
import threading
import time
import types
import uuid
import warnings
import zipfile
from datetime import datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from hubsim import deploy, patches

HUB_ACCOUNT = "123456789012"
SPOKE_ACCOUNT = "222222222222"
ISO_8601_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def engine():
    """moto with the hubsim patches, and nothing deployed (fresh backends for every test)."""
    from hubsim.engine import LocalHub

    warnings.filterwarnings("ignore", message="Tried to parse")
    local = LocalHub().start(deploy_hub=False)
    try:
        yield local
    finally:
        local.stop()


def _wait_for_execution(sfn, execution_arn: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{execution_arn} still RUNNING after {timeout}s"
        time.sleep(0.05)


def _executions(sfn, state_machine_arn: str, count: int, timeout: float = 30) -> list[dict]:
    """The first `count` executions of a machine, each finished."""
    deadline = time.monotonic() + timeout
    while True:
        found = sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]
        if len(found) >= count:
            return [_wait_for_execution(sfn, e["executionArn"]) for e in found]
        assert time.monotonic() < deadline, f"{len(found)} of {count} executions of {state_machine_arn} after {timeout}s"
        time.sleep(0.05)


def _template(tmp_path, text: str):
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text))
    return path


# ------------------------------------------------------------------------------ lambda in-process
HANDLER_CODE = '''
import os
import time

import seam_rendezvous


class ArtifactMissing(Exception):
    """A handler's own exception: its class name is the errorType Step Functions matches."""


def handler(event, context):
    if "missing" in event:
        raise ArtifactMissing(f"artifact {event['missing']} is not in the bucket")
    print(f"{context.function_name}: {event['a']} + {event['b']} for {os.environ['TENANT']}")
    return {"sum": event["a"] + event["b"], "tenant": os.environ["TENANT"], "function": context.function_name}


def sleepy(event, context):
    time.sleep(event["seconds"])
    return {"slept": event["seconds"]}


def rendezvous(event, context):
    """Reads TENANT, waits until the other invocation is running too, reads TENANT again."""
    before = os.environ["TENANT"]
    seam_rendezvous.barrier.wait()
    return {"before": before, "after": os.environ["TENANT"], "region": os.environ["AWS_REGION"]}
'''


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER_CODE)
    return buffer.getvalue()


def _lambda_role(engine) -> str:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    return engine.client("iam").create_role(RoleName="seam-lambda", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _create_function(engine, name: str, handler: str, tenant: str, role: str) -> None:
    engine.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler=handler, Timeout=30,
        Code={"ZipFile": _code_zip()}, Environment={"Variables": {"TENANT": tenant}},
    )


def _invoke(name: str, event: dict) -> tuple[dict, dict]:
    # A client per call: invocations below run on several threads.
    response = boto3.client("lambda", region_name="us-east-1").invoke(FunctionName=name, Payload=json.dumps(event))
    return response, json.loads(response["Payload"].read())


def _log_messages(engine, function_name: str) -> list[str]:
    logs = engine.client("logs")
    return [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}")["events"]]


@pytest.fixture
def rendezvous(monkeypatch):
    """A barrier the handlers import (all invocations share this process); a timeout, never a hang."""
    module = types.SimpleNamespace(barrier=threading.Barrier(2, timeout=10))
    monkeypatch.setitem(sys.modules, "seam_rendezvous", module)
    return module


def test_lambda_runs_deployed_handler_in_process(engine, rendezvous):
    role = _lambda_role(engine)
    _create_function(engine, "seam-adder", "app.handler", "acme", role)

    # The deployed handler runs: its result is computed from the event and its environment
    response, payload = _invoke("seam-adder", {"a": 2, "b": 40})
    assert "FunctionError" not in response
    assert payload == {"sum": 42, "tenant": "acme", "function": "seam-adder"}

    # A handler's exception is the function error, named after the exception class
    response, payload = _invoke("seam-adder", {"missing": "model.tar.gz"})
    assert response.get("FunctionError")
    assert payload["errorType"] == "ArtifactMissing"
    assert payload["errorMessage"] == "artifact model.tar.gz is not in the bucket"
    assert isinstance(payload["stackTrace"], list) and payload["stackTrace"]

    # What the handler printed, and the error, are in the function's CloudWatch Logs
    messages = _log_messages(engine, "seam-adder")
    assert "seam-adder: 2 + 40 for acme" in messages
    assert any("ArtifactMissing: artifact model.tar.gz" in m for m in messages)

    # Two functions invoked at once each see their own environment (the per-thread overlay):
    # both are inside their invocation together (the barrier) when they read TENANT again.
    _create_function(engine, "seam-tenant-a", "app.rendezvous", "tenant-a", role)
    _create_function(engine, "seam-tenant-b", "app.rendezvous", "tenant-b", role)
    results, errors = {}, []

    def call(name):
        try:
            results[name] = _invoke(name, {})
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(name,)) for name in ("seam-tenant-a", "seam-tenant-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and not any(t.is_alive() for t in threads)
    for name, tenant in (("seam-tenant-a", "tenant-a"), ("seam-tenant-b", "tenant-b")):
        response, payload = results[name]
        assert "FunctionError" not in response, payload
        assert payload == {"before": tenant, "after": tenant, "region": "us-east-1"}
    # and the test's own thread still sees the process environment, not an invocation's
    assert "TENANT" not in os.environ


def test_lambda_output_reaches_cloudwatch_logs_without_a_declared_log_group(engine, rendezvous):
    _create_function(engine, "seam-undeclared-logs", "app.handler", "acme", _lambda_role(engine))
    _invoke("seam-undeclared-logs", {"a": 1, "b": 1})
    groups = [g["logGroupName"] for g in engine.client("logs").describe_log_groups()["logGroups"]]
    assert "/aws/lambda/seam-undeclared-logs" in groups
    assert "seam-undeclared-logs: 1 + 1 for acme" in _log_messages(engine, "seam-undeclared-logs")


# ------------------------------------------------------------------------------ step functions
STATE_MACHINE_TEMPLATE = """\
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Resources:
      Queue:
        Type: AWS::SQS::Queue
      Machine:
        Type: AWS::Serverless::StateMachine
        Properties:
          Name: !Sub ${AWS::StackName}-greeter
          Type: STANDARD
          Definition:
            StartAt: Greet
            States:
              Greet:
                Type: Pass
                Parameters:
                  greeting: "${Greeting}"
                  queue: "${QueueName}"
                  notASubstitution: "${NotGiven}"
                  execution.$: "$$.Execution.Name"
                  entered.$: "$$.State.EnteredTime"
                  started.$: "$$.Execution.StartTime"
                  input.$: "$"
                End: true
          DefinitionSubstitutions:
            Greeting: !Sub hello from ${AWS::StackName}
            QueueName: !GetAtt Queue.QueueName
          Policies: []
    Outputs:
      MachineArn: {Value: !Ref Machine}
      QueueName: {Value: !GetAtt Queue.QueueName}
"""


def test_cfn_state_machine_executes_with_substitutions_and_nameless_starts(engine, tmp_path):
    # Given a SAM state machine with DefinitionSubstitutions and $$ context paths, deployed
    outputs = deploy.deploy(_template(tmp_path, STATE_MACHINE_TEMPLATE), "seam-sfn")
    arn = outputs["MachineArn"]
    sfn = engine.client("stepfunctions")

    # Then the executing backend knows it, with the substitutions applied and $$ intact
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["name"] == "seam-sfn-greeter"
    parameters = json.loads(described["definition"])["States"]["Greet"]["Parameters"]
    assert parameters["greeting"] == "hello from seam-sfn"
    assert parameters["queue"] == outputs["QueueName"]
    assert parameters["notASubstitution"] == "${NotGiven}"
    assert parameters["execution.$"] == "$$.Execution.Name"

    # When it is started twice without a name
    first = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"tenant": "acme"}))
    second = sfn.start_execution(stateMachineArn=arn)

    # Then both start, with distinct UUID names, and both succeed
    names = [a["executionArn"].rsplit(":", 1)[-1] for a in (first, second)]
    assert names[0] != names[1]
    assert all(str(uuid.UUID(n)) == n for n in names)
    for started, name, expected_input in ((first, names[0], {"tenant": "acme"}), (second, names[1], {})):
        execution = _wait_for_execution(sfn, started["executionArn"])  # DescribeExecution with datetimes in $$
        assert execution["status"] == "SUCCEEDED", execution
        assert execution["name"] == name
        output = json.loads(execution["output"])
        assert output["execution"] == name  # $$.Execution.Name, not $.Execution.Name
        assert output["greeting"] == "hello from seam-sfn"
        assert output["input"] == expected_input
        assert datetime.fromisoformat(output["entered"])  # $$.State.EnteredTime
        assert datetime.fromisoformat(output["started"])  # $$.Execution.StartTime (a datetime in moto)


def test_a_definition_is_validated_and_parsed_once_and_a_bad_one_still_refused(engine, monkeypatch):
    from moto.stepfunctions.parser.asl.parse import asl_parser

    sfn = engine.client("stepfunctions")
    role = f"arn:aws:iam::{HUB_ACCOUNT}:role/seam-states"
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}})
    parses = []
    parse = asl_parser.AmazonStateLanguageParser.parse
    monkeypatch.setattr(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(lambda d: parses.append(d) or parse(d)))

    # Given one definition used by two machines, each executed twice
    arns = [sfn.create_state_machine(name=f"seam-once-{i}", definition=definition, roleArn=role)["stateMachineArn"]
            for i in range(2)]
    for arn in arns * 2:
        execution = _wait_for_execution(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
        assert execution["status"] == "SUCCEEDED" and json.loads(execution["output"]) == {"ok": 1}
    # Then it was parsed at most once (not at all when an earlier test of this process parsed it)
    assert parses.count(definition) <= 1

    # And a definition that is not valid ASL is refused, every time, with the parser's reason (moto
    # sends InvalidDefinition with an empty error code)
    for attempt in range(2):
        with pytest.raises(ClientError) as refused:
            sfn.create_state_machine(name=f"seam-bad-{attempt}", definition='{"StartAt": "Nowhere"}', roleArn=role)
        assert "definition for Program" in refused.value.response["Error"]["Message"] and "Nowhere" in refused.value.response["Error"]["Message"]
    assert not [m for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith("seam-bad")]


def test_json_and_yaml_template_bodies_read_alike(engine, tmp_path, monkeypatch):
    import moto.cloudformation.models as cfn_models

    cfn = engine.client("cloudformation")
    yaml_body = textwrap.dedent("""\
        Parameters:
          Suffix: {Type: String, Default: one}
        Resources:
          Queue:
            Type: AWS::SQS::Queue
            Properties:
              QueueName: !Sub seam-body-${Suffix}
        Outputs:
          QueueName: {Value: !GetAtt Queue.QueueName}
    """)
    json_body = json.dumps({
        "Parameters": {"Suffix": {"Type": "String", "Default": "one"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue",
                                "Properties": {"QueueName": {"Fn::Sub": "seam-body-${Suffix}"}}}},
        "Outputs": {"QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}},
    }, indent=2)

    def outputs(stack: str) -> dict:
        return {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}

    # A YAML body with short-form tags is still read by moto's YAML reading
    cfn.create_stack(StackName="seam-yaml", TemplateBody=yaml_body, Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "yaml"}])
    assert outputs("seam-yaml") == {"QueueName": "seam-body-yaml"}

    # A JSON body is read without the YAML loader at all, to the same stack
    monkeypatch.setattr(cfn_models.yaml, "load", lambda *a, **k: pytest.fail("JSON body read with the YAML loader"))
    cfn.create_stack(StackName="seam-json", TemplateBody=json_body, Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "json"}])
    assert outputs("seam-json") == {"QueueName": "seam-body-json"}


def test_a_stack_gets_the_same_generated_names_in_a_fresh_emulation_and_new_ones_when_recreated(engine):
    from moto.moto_api._internal import mock_random
    from moto.moto_api._internal.models import moto_api_backend

    cfn = engine.client("cloudformation")
    body = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                       "Outputs": {"QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}}})

    def deployed_name() -> str:
        cfn.create_stack(StackName="seam-names", TemplateBody=body)
        return cfn.describe_stacks(StackName="seam-names")["Stacks"][0]["Outputs"][0]["OutputValue"]

    # A generated name keeps CloudFormation's shape
    first = deployed_name()
    assert re.fullmatch(r"seam-names-Queue-[A-Z0-9]{12}", first)
    drawn_after = mock_random.random()
    # Created again after a delete, the stack gets a new name, as on AWS
    cfn.delete_stack(StackName="seam-names")
    assert deployed_name() != first
    # In a fresh emulation the same deployment gets the same name (its definitions parse once)
    moto_api_backend.reset()
    assert deployed_name() == first
    # And the shared random source was not made predictable by the seeded deployments
    assert mock_random.random() != drawn_after


def test_jsonpath_expressions_are_parsed_once_and_still_evaluate(engine):
    import jsonpath_ng
    import jsonpath_ng.ext
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    # The same path gives the same parsed expression, in both dialects moto uses
    assert jsonpath_ng.ext.parse("$.tenant.tenant_id") is jsonpath_ng.ext.parse("$.tenant.tenant_id")
    assert jsonpath_ng.parse("$.result") is jsonpath_ng.parse("$.result")
    # and sharing it changes no answer: reads of different documents, writes into different documents
    assert extract_json("$.tenant.tenant_id", {"tenant": {"tenant_id": "acme"}}) == "acme"
    assert extract_json("$.tenant.tenant_id", {"tenant": {"tenant_id": "globex"}}) == "globex"
    first, second = {}, {"kept": 1}
    jsonpath_ng.parse("$.result").update_or_create(first, 1)
    jsonpath_ng.parse("$.result").update_or_create(second, 2)
    assert (first, second) == ({"result": 1}, {"kept": 1, "result": 2})

    # And a state machine's paths (Parameters, ResultPath, OutputPath) evaluate per execution
    sfn = engine.client("stepfunctions")
    definition = {"StartAt": "Shape", "States": {"Shape": {
        "Type": "Pass", "Parameters": {"who.$": "$.tenant.tenant_id"}, "ResultPath": "$.shaped", "OutputPath": "$.shaped",
        "End": True}}}
    arn = sfn.create_state_machine(name="seam-jsonpath", definition=json.dumps(definition),
                                   roleArn=f"arn:aws:iam::{HUB_ACCOUNT}:role/seam-states")["stateMachineArn"]
    outputs = [json.loads(_wait_for_execution(sfn, sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({"tenant": {"tenant_id": t}}))["executionArn"])["output"]) for t in ("a", "b")]
    assert outputs == [{"who": "a"}, {"who": "b"}]


# ------------------------------------------------------------------------------ iam
def test_roles_are_found_by_name_and_arn_after_create_and_delete(engine):
    from moto.iam.models import iam_backends

    iam = engine.account_session(SPOKE_ACCOUNT).client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SPOKE_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
    for n in range(30):
        iam.create_role(RoleName=f"tenant-{n:02d}", Path="/genai-hub/", AssumeRolePolicyDocument=trust)
    # Found by name (every IAM call on a role) and by ARN (moto's last-used bookkeeping of assumed roles)
    role = iam.get_role(RoleName="tenant-17")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{SPOKE_ACCOUNT}:role/genai-hub/tenant-17"
    backend = iam_backends[SPOKE_ACCOUNT]["aws"]
    assert backend.get_role_by_arn(role["Arn"]).name == "tenant-17"
    # A deleted role is gone, and a new one under the same name is the new one, not the indexed old one
    iam.delete_role(RoleName="tenant-17")
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName="tenant-17")
    iam.create_role(RoleName="tenant-17", Path="/other/", AssumeRolePolicyDocument=trust)
    assert iam.get_role(RoleName="tenant-17")["Role"]["Arn"].endswith(":role/other/tenant-17")
    with pytest.raises(Exception, match="not found"):
        backend.get_role_by_arn(role["Arn"])  # the old path: no such role any more
    # Duplicates are still refused, and a call with assumed-role credentials still works (last-used bookkeeping)
    with pytest.raises(ClientError, match="EntityAlreadyExists"):
        iam.create_role(RoleName="tenant-03", AssumeRolePolicyDocument=trust)
    arn = iam.get_role(RoleName="tenant-03")["Role"]["Arn"]
    assumed = engine.account_session(SPOKE_ACCOUNT).client("sts").assume_role(RoleArn=arn, RoleSessionName="seam")["Credentials"]
    as_role = boto3.client("iam", region_name="us-east-1", aws_access_key_id=assumed["AccessKeyId"],
                           aws_secret_access_key=assumed["SecretAccessKey"], aws_session_token=assumed["SessionToken"])
    assert as_role.get_role(RoleName="tenant-03")["Role"]["RoleName"] == "tenant-03"
    assert "RoleLastUsed" in iam.get_role(RoleName="tenant-03")["Role"]


# ------------------------------------------------------------------------------ eventbridge
EVENTS_TEMPLATE = """\
    AWSTemplateFormatVersion: "2010-09-09"
    Resources:
      Bus:
        Type: AWS::Events::EventBus
        Properties:
          Name: !Sub ${AWS::StackName}-bus
      DeadLetters:
        Type: AWS::SQS::Queue
      Machine:
        Type: AWS::StepFunctions::StateMachine
        Properties:
          StateMachineName: !Sub ${AWS::StackName}-target
          RoleArn: !Sub arn:aws:iam::${AWS::AccountId}:role/seam-states
          DefinitionString: '{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}'
      Rule:
        Type: AWS::Events::Rule
        Properties:
          Name: seam-rule
          EventBusName: !Ref Bus
          EventPattern:
            source: [seam.test]
            detail-type: [SeamHappened]
          Targets:
            - Id: machine
              Arn: !Ref Machine
              RoleArn: !Sub arn:aws:iam::${AWS::AccountId}:role/seam-events
    Outputs:
      BusName: {Value: !Ref Bus}
      MachineArn: {Value: !Ref Machine}
      RuleArn: {Value: !GetAtt Rule.Arn}
      DeadLetterQueueUrl: {Value: !Ref DeadLetters}
      DeadLetterQueueArn: {Value: !GetAtt DeadLetters.Arn}
"""


def test_task_timeouts_are_stretched_for_a_cpu_shared_by_all_executions(engine, rendezvous, monkeypatch):
    from hubsim.patches import stepfunctions as sfn_patch

    # Given a Task with TimeoutSeconds 1 whose Lambda takes 1.5 s
    role = _lambda_role(engine)
    _create_function(engine, "seam-sleepy", "app.sleepy", "acme", role)
    function_arn = engine.client("lambda").get_function(FunctionName="seam-sleepy")["Configuration"]["FunctionArn"]
    definition = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Task", "Resource": function_arn, "TimeoutSeconds": 1, "End": True}}}
    sfn = engine.client("stepfunctions")
    machine = sfn.create_state_machine(name="seam-timeout", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]

    # When timeouts are taken literally, Then the Task times out as on AWS
    monkeypatch.setattr(sfn_patch, "timeout_scale", 1.0)
    strict = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"seconds": 1.5}))["executionArn"]
    described = _wait_for_execution(sfn, strict)
    assert (described["status"], described.get("error")) == ("FAILED", "States.Timeout")

    # When they are stretched (the engine's default), Then the same Task completes
    monkeypatch.setattr(sfn_patch, "timeout_scale", 10.0)
    stretched = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"seconds": 1.5}))["executionArn"]
    assert _wait_for_execution(sfn, stretched)["status"] == "SUCCEEDED"

    # But a deadline taken from the data (TimeoutSecondsPath: an approval's expiry, a retirement date)
    # is kept to the second, stretched or not
    by_path = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Task", "Resource": function_arn,
                                                        "TimeoutSecondsPath": "$.deadline", "End": True}}}
    machine = sfn.create_state_machine(name="seam-deadline", definition=json.dumps(by_path), roleArn=role)["stateMachineArn"]
    deadline = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"seconds": 1.5, "deadline": 1}))["executionArn"]
    described = _wait_for_execution(sfn, deadline)
    assert (described["status"], described.get("error")) == ("FAILED", "States.Timeout")


def _put_seam_event(engine, bus: str, detail: dict) -> str:
    entry = engine.client("events").put_events(Entries=[{
        "EventBusName": bus, "Source": "seam.test", "DetailType": "SeamHappened", "Detail": json.dumps(detail),
    }])["Entries"][0]
    assert "EventId" in entry, entry
    return entry["EventId"]


def test_event_rule_starts_state_machine_with_iso_time(engine, tmp_path):
    # Given a rule on a custom bus (EventBusName: !Ref of the bus) targeting a state machine
    outputs = deploy.deploy(_template(tmp_path, EVENTS_TEMPLATE), "seam-events")
    assert outputs["BusName"] == "seam-events-bus"  # Ref of AWS::Events::EventBus is its name
    assert outputs["RuleArn"].endswith(":rule/seam-events-bus/seam-rule")
    sfn = engine.client("stepfunctions")

    # When two matching events (and one that does not match) are put on the bus
    first = _put_seam_event(engine, outputs["BusName"], {"tenant": "acme", "n": 1})
    second = _put_seam_event(engine, outputs["BusName"], {"tenant": "acme", "n": 2})
    engine.client("events").put_events(Entries=[{
        "EventBusName": outputs["BusName"], "Source": "other.source", "DetailType": "SeamHappened", "Detail": "{}",
    }])

    # Then each matching event started one execution (nameless starts), with the event as input, as AWS shapes it
    executions = _executions(sfn, outputs["MachineArn"], 2)
    assert len(executions) == 2
    assert all(e["status"] == "SUCCEEDED" for e in executions)
    inputs = {json.loads(e["input"])["id"]: json.loads(e["input"]) for e in executions}
    assert set(inputs) == {first, second}
    for event_id, detail in ((first, {"tenant": "acme", "n": 1}), (second, {"tenant": "acme", "n": 2})):
        event = inputs[event_id]
        assert event["detail"] == detail
        assert event["detail-type"] == "SeamHappened" and event["source"] == "seam.test"
        assert event["account"] == HUB_ACCOUNT and event["region"] == "us-east-1"
        assert isinstance(event["time"], str) and ISO_8601_UTC.match(event["time"]), event["time"]
        assert "ingestion-time" not in event


def test_event_target_that_cannot_start_sends_the_event_to_its_dead_letter_queue(engine, tmp_path):
    outputs = deploy.deploy(_template(tmp_path, EVENTS_TEMPLATE), "seam-dlq")
    events = engine.client("events")
    missing = f"arn:aws:states:us-east-1:{HUB_ACCOUNT}:stateMachine:does-not-exist"
    events.put_targets(Rule="seam-rule", EventBusName=outputs["BusName"], Targets=[{
        "Id": "missing-machine", "Arn": missing, "RoleArn": f"arn:aws:iam::{HUB_ACCOUNT}:role/seam-events",
        "DeadLetterConfig": {"Arn": outputs["DeadLetterQueueArn"]},
    }])

    event_id = _put_seam_event(engine, outputs["BusName"], {"tenant": "acme"})

    # The target that can start still starts; the one that cannot leaves the event in its DLQ
    [execution] = _executions(engine.client("stepfunctions"), outputs["MachineArn"], 1)
    assert json.loads(execution["input"])["id"] == event_id
    messages = engine.client("sqs").receive_message(
        QueueUrl=outputs["DeadLetterQueueUrl"], MessageAttributeNames=["All"], MaxNumberOfMessages=10,
    ).get("Messages", [])
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["id"] == event_id and body["detail"] == {"tenant": "acme"}
    assert ISO_8601_UTC.match(body["time"]) and "ingestion-time" not in body
    assert messages[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "StateMachineDoesNotExist"


# ------------------------------------------------------------------------------ bedrock
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


# ------------------------------------------------------------------------------ sts
def test_assume_role_requires_external_id_of_trust_policy(engine):
    # Given a role in the spoke account that trusts the hub account with an ExternalId
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "ext-7f3a"}},
    }]}
    spoke_iam = engine.client("iam", account_id=SPOKE_ACCOUNT)
    role_arn = spoke_iam.create_role(RoleName="seam-spoke", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assert role_arn == f"arn:aws:iam::{SPOKE_ACCOUNT}:role/seam-spoke"
    sts = engine.client("sts")
    assert sts.get_caller_identity()["Account"] == HUB_ACCOUNT

    # The right ExternalId: credentials that act in the spoke account
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="seam", ExternalId="ext-7f3a")["Credentials"]
    identity = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    ).get_caller_identity()
    assert identity["Account"] == SPOKE_ACCOUNT
    assert identity["Arn"] == f"arn:aws:sts::{SPOKE_ACCOUNT}:assumed-role/seam-spoke/seam"

    # A wrong or missing ExternalId, or an ExternalId for a role that does not exist: AccessDenied
    for call in (
        {"RoleArn": role_arn, "ExternalId": "ext-wrong"},
        {"RoleArn": role_arn},
        {"RoleArn": f"arn:aws:iam::{SPOKE_ACCOUNT}:role/seam-no-such-role", "ExternalId": "ext-7f3a"},
    ):
        with pytest.raises(ClientError) as denied:
            sts.assume_role(RoleSessionName="seam", **call)
        assert denied.value.response["Error"]["Code"] == "AccessDenied", call


# ------------------------------------------------------------------------------ the registry
def test_every_patch_names_an_existing_test():
    described = patches.describe()
    assert described, "hubsim.patches.describe() lists no patch"
    import importlib

    for patch in described:
        for test in patch.covered_by.split(", "):  # a patch of several seams names a test for each
            path, _, name = test.partition("::")
            assert path.startswith("tests/test_") and path.endswith(".py"), patch
            module = sys.modules[__name__] if path == "tests/test_engine_seams.py" else importlib.import_module(path[6:-3])
            assert callable(getattr(module, name, None)) and name.startswith("test_"), f"{patch.name}: no test {name}"
    assert len({p.name for p in described}) == len(described)


def _session_of_role(engine, role_arn: str) -> boto3.session.Session:
    """A session of `role_arn` in the hub account (created, trusting the account, if it is not there)."""
    iam = engine.client("iam")
    name = role_arn.rsplit("/", 1)[-1]
    if name not in [r["RoleName"] for r in iam.list_roles()["Roles"]]:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{role_arn.split(':')[4]}:root"}, "Action": "sts:AssumeRole"}]}))
    credentials = engine.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="seam")["Credentials"]
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"], region_name="us-east-1")


def _bedrock_import_role(engine, name: str) -> str:
    """The Bedrock service role of an import: the emulated Bedrock assumes it as bedrock.amazonaws.com."""
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "bedrock.amazonaws.com"},
    }]}
    return engine.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


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


# ------------------------------------------------------------------------------ s3, kms, sqs (research spoke)
RESEARCH_ACCOUNT = "111111111111"
HUB_IMPORT_ROLE = f"arn:aws:iam::{HUB_ACCOUNT}:role/genai-hub-model-import"
HUB_VERIFIER_ROLE = f"arn:aws:iam::{HUB_ACCOUNT}:role/genai-hub-grants-verifier"


def _hub_bus_capturing_s3_events(engine) -> tuple[str, str]:
    """A hub bus (open to the research account) whose rule copies every "Object Created" to a queue."""
    events, sqs = engine.client("events"), engine.client("sqs")
    bus_arn = events.create_event_bus(Name="genai-hub-bus")["EventBusArn"]
    events.put_permission(EventBusName="genai-hub-bus", Action="events:PutEvents", Principal=RESEARCH_ACCOUNT, StatementId="research")
    queue_url = sqs.create_queue(QueueName="seam-hub-s3-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="seam-import-manifests", EventBusName="genai-hub-bus",
                    EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}))
    events.put_targets(Rule="seam-import-manifests", EventBusName="genai-hub-bus", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return bus_arn, queue_url


def _drain(sqs, queue_url: str) -> list[dict]:
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", []):
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_research_spoke_forwards_import_manifests_to_the_hub_bus(engine):
    # Given the hub's bus, and spokes/research.yaml deployed in the research account
    bus_arn, hub_queue = _hub_bus_capturing_s3_events(engine)
    research = engine.account_session(RESEARCH_ACCOUNT)
    outputs = deploy.deploy(deploy.ROOT / "spokes" / "research.yaml", "genai-hub-research", session=research, parameters={
        "HubAccountId": HUB_ACCOUNT, "HubEventBusArn": bus_arn, "HubImportRoleArn": HUB_IMPORT_ROLE,
        "HubGrantsVerifierRoleArn": HUB_VERIFIER_ROLE, "ExternalId": "ext-research-7f3a",
    })
    assert set(outputs) == {"ArtifactBucketName", "ArtifactKeyArn", "GrantsReaderRoleArn", "ForwardImportManifestsRuleArn"}
    bucket, key_arn = outputs["ArtifactBucketName"], outputs["ArtifactKeyArn"]
    assert bucket == f"genai-research-artifacts-{RESEARCH_ACCOUNT}"
    assert outputs["GrantsReaderRoleArn"] == f"arn:aws:iam::{RESEARCH_ACCOUNT}:role/genai-hub-grants-reader"
    s3, hub_sqs = research.client("s3"), engine.client("sqs")

    # When a model's config and then its import manifest are uploaded (the bucket policy's
    # DenyInsecureTransport does not apply: SDK requests are over TLS)
    s3.put_object(Bucket=bucket, Key="models/m1/config.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="models/m1/import.json", Body=json.dumps({"model": "m1"}).encode())
    assert json.loads(s3.get_object(Bucket=bucket, Key="models/m1/import.json")["Body"].read()) == {"model": "m1"}

    # Then exactly the manifest's "Object Created" reached the hub bus, as the research account's event
    [message] = _drain(hub_sqs, hub_queue)
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")
    assert event["detail"]["bucket"]["name"] == bucket
    assert event["detail"]["object"]["key"] == "models/m1/import.json"
    assert event["account"] == RESEARCH_ACCOUNT and event["region"] == "us-east-1"
    assert event["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert ISO_8601_UTC.match(event["time"]), event["time"]
    # and every S3 event has its own id
    s3.put_object(Bucket=bucket, Key="models/m2/import.json", Body=b"{}")
    [second] = [json.loads(m["Body"]) for m in _drain(hub_sqs, hub_queue)]
    assert second["detail"]["object"]["key"] == "models/m2/import.json" and second["id"] != event["id"]

    # The bucket: policy granting the hub's import role, SSE-KMS with the key, and the other settings
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {"AllowHubImportRoleRead", "AllowHubImportRoleList", "DenyInsecureTransport"}
    for sid, action, resource in (("AllowHubImportRoleRead", "s3:GetObject", f"arn:aws:s3:::{bucket}/*"),
                                  ("AllowHubImportRoleList", "s3:ListBucket", f"arn:aws:s3:::{bucket}")):
        assert statements[sid]["Effect"] == "Allow" and statements[sid]["Principal"] == {"AWS": HUB_IMPORT_ROLE}
        assert (statements[sid]["Action"], statements[sid]["Resource"]) == (action, resource)
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"] is True
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    # The key: its policy (a JSON string, as on AWS) lets the import role decrypt through S3 only
    kms = research.client("kms")
    key_policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    decrypt = {s["Sid"]: s for s in key_policy["Statement"]}["AllowHubImportRoleDecrypt"]
    assert decrypt["Principal"] == {"AWS": HUB_IMPORT_ROLE} and decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True

    # The hub's verifier reads both policies through the grants reader role, with the ExternalId
    # (as the verifier role: the reader's trust names that role, not the hub account's root)
    sts = _session_of_role(engine, HUB_VERIFIER_ROLE).client("sts")
    credentials = sts.assume_role(RoleArn=outputs["GrantsReaderRoleArn"], RoleSessionName="verifier", ExternalId="ext-research-7f3a")["Credentials"]
    reader = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                                   aws_session_token=credentials["SessionToken"], region_name="us-east-1")
    assert json.loads(reader.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    assert json.loads(reader.client("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]) == key_policy
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=outputs["GrantsReaderRoleArn"], RoleSessionName="verifier", ExternalId="ext-wrong-000")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"

    # When the hub bus is gone, a manifest lands in the rule's DLQ, whose policy admits only that rule
    engine.client("events").remove_targets(Rule="seam-import-manifests", EventBusName="genai-hub-bus", Ids=["queue"])
    engine.client("events").delete_rule(Name="seam-import-manifests", EventBusName="genai-hub-bus")
    engine.client("events").delete_event_bus(Name="genai-hub-bus")
    s3.put_object(Bucket=bucket, Key="models/m3/import.json", Body=b"{}")
    dlq_url = research.client("cloudformation").describe_stack_resource(
        StackName="genai-hub-research", LogicalResourceId="ForwardDlq")["StackResourceDetail"]["PhysicalResourceId"]
    research_sqs = research.client("sqs")
    [dead] = _drain(research_sqs, dlq_url)
    assert json.loads(dead["Body"])["detail"]["object"]["key"] == "models/m3/import.json"
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "ResourceNotFoundException"
    dlq_policy = json.loads(research_sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    [statement] = dlq_policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": outputs["ForwardImportManifestsRuleArn"]}}


POLICIES_TEMPLATE = """\
    AWSTemplateFormatVersion: "2010-09-09"
    Resources:
      Queue:
        Type: AWS::SQS::Queue
      QueuePolicy:
        Type: AWS::SQS::QueuePolicy
        Properties:
          Queues: [!Ref Queue]
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: events.amazonaws.com}
                Action: sqs:SendMessage
                Resource: !GetAtt Queue.Arn
      Bucket:
        Type: AWS::S3::Bucket
        DeletionPolicy: Retain
        Properties:
          BucketName: !Sub ${AWS::StackName}-bucket
      BucketPolicy:
        Type: AWS::S3::BucketPolicy
        Properties:
          Bucket: !Ref Bucket
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Deny
                Principal: "*"
                Action: s3:DeleteObject
                Resource: !Sub ${Bucket.Arn}/*
    Outputs:
      QueueUrl: {Value: !Ref Queue}
      QueuePolicyId: {Value: !Ref QueuePolicy}
      BucketName: {Value: !Ref Bucket}
"""


def test_queue_and_bucket_policies_from_cloudformation_are_applied_and_removed(engine, tmp_path):
    outputs = deploy.deploy(_template(tmp_path, POLICIES_TEMPLATE), "seam-policies")
    sqs, s3, cfn = engine.client("sqs"), engine.client("s3"), engine.client("cloudformation")

    # Both policies are resources of the stack, with the physical ids AWS gives them
    resources = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(StackName="seam-policies")["StackResourceSummaries"]}
    assert resources["BucketPolicy"]["PhysicalResourceId"] == outputs["BucketName"] == "seam-policies-bucket"
    assert resources["QueuePolicy"]["PhysicalResourceId"] == outputs["QueuePolicyId"]
    assert outputs["QueuePolicyId"].startswith("seam-policies-QueuePolicy-")

    # and are in force: the queue's Policy attribute, the bucket's policy (enforced by moto)
    queue_policy = json.loads(sqs.get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert queue_policy["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    assert json.loads(s3.get_bucket_policy(Bucket=outputs["BucketName"])["Policy"])["Statement"][0]["Action"] == "s3:DeleteObject"
    s3.put_object(Bucket=outputs["BucketName"], Key="kept", Body=b"1")
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=outputs["BucketName"], Key="kept")

    # Deleting the stack removes the bucket policy from the retained bucket
    cfn.delete_stack(StackName="seam-policies")
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_policy(Bucket=outputs["BucketName"])
    assert missing.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    s3.delete_object(Bucket=outputs["BucketName"], Key="kept")


def test_concurrent_conditional_puts_let_exactly_one_writer_win(engine, monkeypatch):
    # Given a table and 24 writers racing for the same key with attribute_not_exists, and moto's
    # window between reading the current item and writing widened (parsing the condition takes a
    # while): without the patch several writers pass the condition
    from moto.dynamodb.models import table as moto_table

    parse = moto_table.get_filter_expression

    def slow_parse(*args, **kwargs):
        time.sleep(0.005)
        return parse(*args, **kwargs)

    monkeypatch.setattr(moto_table, "get_filter_expression", slow_parse)
    ddb = engine.client("dynamodb")
    ddb.create_table(TableName="seam-locks", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    barrier, outcomes = threading.Barrier(24, timeout=10), []

    def race(n):
        client = boto3.client("dynamodb", region_name="us-east-1")
        barrier.wait()
        try:
            client.put_item(TableName="seam-locks", Item={"pk": {"S": "LOCK"}, "writer": {"N": str(n)}},
                            ConditionExpression="attribute_not_exists(pk)")
            outcomes.append(("won", n))
        except ClientError as error:
            outcomes.append((error.response["Error"]["Code"], n))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # Then exactly one write won, the others were refused, and the item is the winner's
    winners = [n for outcome, n in outcomes if outcome == "won"]
    assert len(outcomes) == 24 and len(winners) == 1
    assert {o for o, _ in outcomes if o != "won"} == {"ConditionalCheckFailedException"}
    item = ddb.get_item(TableName="seam-locks", Key={"pk": {"S": "LOCK"}})["Item"]
    assert item["writer"]["N"] == str(winners[0])


# ------------------------------------------------------------------------------ bedrock runtime
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


def _partitioned_table(ddb, name: str, partitions: int, per_partition: int) -> None:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g", "gs")],
                     GlobalSecondaryIndexes=[{"IndexName": "ByG", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                         {"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gs", "KeyType": "RANGE"}]}])
    for p in range(partitions):
        for n in reversed(range(per_partition)):
            item = {"pk": {"S": f"P#{p:03d}"}, "sk": {"S": f"S#{n:03d}"}}
            if n % 2 == 0:
                item.update(g={"S": f"G#{n % 4}"}, gs={"S": f"P#{p:03d}"})
            ddb.put_item(TableName=name, Item=item)


def test_a_query_reads_its_partition_only(engine, monkeypatch):
    # Given a table of 300 partitions x 10 items, with a GSI over half of them
    ddb = engine.client("dynamodb")
    _partitioned_table(ddb, "seam-partitions", 300, 10)
    from moto.dynamodb.models.dynamo_type import DynamoType

    comparisons = []
    original_lt = DynamoType.__lt__

    def counting_lt(self, other):
        comparisons.append(1)
        return original_lt(self, other)

    monkeypatch.setattr(DynamoType, "__lt__", counting_lt)

    # When one partition is queried, forwards, backwards and by prefix
    forward = ddb.query(TableName="seam-partitions", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "P#123"}})
    backward = ddb.query(TableName="seam-partitions", KeyConditionExpression="pk = :p", ScanIndexForward=False, Limit=3,
                         ExpressionAttributeValues={":p": {"S": "P#123"}})
    prefix = ddb.query(TableName="seam-partitions", KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                       ExpressionAttributeValues={":p": {"S": "P#007"}, ":s": {"S": "S#00"}})

    # Then the results are DynamoDB's, and only that partition was sorted (moto sorted all 3,000 items)
    assert [i["sk"]["S"] for i in forward["Items"]] == [f"S#{n:03d}" for n in range(10)]
    assert [i["sk"]["S"] for i in backward["Items"]] == ["S#009", "S#008", "S#007"] and "LastEvaluatedKey" in backward
    assert [i["sk"]["S"] for i in prefix["Items"]] == [f"S#{n:03d}" for n in range(10)]
    assert len(comparisons) < 500, f"{len(comparisons)} comparisons for three queries of 10-item partitions"

    # And an index query still finds its items across partitions, in index order, page by page
    found, kwargs = [], {"TableName": "seam-partitions", "IndexName": "ByG", "KeyConditionExpression": "g = :g",
                         "ExpressionAttributeValues": {":g": {"S": "G#2"}}, "Limit": 100}
    while True:
        page = ddb.query(**kwargs)
        found += [(i["gs"]["S"], i["sk"]["S"]) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert found == sorted((f"P#{p:03d}", f"S#{n:03d}") for p in range(300) for n in (2, 6))


def test_data_plane_responses_are_serialized_as_moto_would(engine, monkeypatch):
    from moto.dynamodb.responses import DynamoResult

    from hubsim.patches import dynamodb as dynamodb_patch

    ddb = engine.client("dynamodb")
    _partitioned_table(ddb, "seam-wire", 3, 4)
    every_type = {"pk": {"S": "P#001"}, "sk": {"S": "S#typed"}, "n": {"N": "12.50"}, "b": {"B": b"\x00\xff"}, "t": {"BOOL": True},
                  "z": {"NULL": True}, "l": {"L": [{"S": "x"}, {"N": "1"}]}, "m": {"M": {"k": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}}},
                  "bs": {"BS": [b"a"]}}

    def calls() -> list[dict]:
        key = {"pk": every_type["pk"], "sk": every_type["sk"]}
        responses = [
            ddb.put_item(TableName="seam-wire", Item=every_type, ReturnValues="ALL_OLD"),
            ddb.get_item(TableName="seam-wire", Key=key, ConsistentRead=True),
            ddb.update_item(TableName="seam-wire", Key=key, UpdateExpression="SET n = n + :one", ReturnValues="ALL_NEW",
                            ExpressionAttributeValues={":one": {"N": "1"}}),
            ddb.query(TableName="seam-wire", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": every_type["pk"]}, Limit=2),
            ddb.batch_get_item(RequestItems={"seam-wire": {"Keys": [key, {"pk": {"S": "P#002"}, "sk": {"S": "S#000"}}]}}),
            ddb.batch_write_item(RequestItems={"seam-wire": [{"PutRequest": {"Item": {"pk": {"S": "P#009"}, "sk": {"S": "S#0"}}}}]}),
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "seam-wire", "Item": {"pk": {"S": "P#008"}, "sk": {"S": "S#0"}}}}]),
            ddb.delete_item(TableName="seam-wire", Key=key, ReturnValues="ALL_OLD"),
        ]
        for response in responses:
            response.pop("ResponseMetadata")
        return responses

    # When the same calls run with moto's serializer and with the wire-format shortcut
    fast = calls()
    monkeypatch.setattr(DynamoResult, "execute_result", dynamodb_patch._originals["execute_result"])
    ddb.delete_table(TableName="seam-wire")
    _partitioned_table(ddb, "seam-wire", 3, 4)
    moto_serialized = calls()

    # Then every response is the same, types included
    assert fast == moto_serialized
    assert fast[2]["Attributes"]["n"] == {"N": "13.50"} and fast[1]["Item"]["b"] == {"B": b"\x00\xff"}


def test_operations_added_by_patches_are_dispatched(engine):
    from moto.bedrock.responses import BedrockResponse
    from moto.core import responses

    from hubsim.patches import core

    # Operations the patch layer adds to a response class are found (bedrock inference profiles)
    assert "list_inference_profiles" in responses.method_names_from_class(BedrockResponse)
    assert engine.client("bedrock").list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"]
    # and the reflection runs once per class, not once per request
    assert responses.method_names_from_class(BedrockResponse) is responses.method_names_from_class(BedrockResponse)
    # and a method added later is seen once the cache is cleared (apply_all does it after the patches)
    BedrockResponse.seam_added_operation = lambda self: "{}"
    try:
        core.clear()
        assert "seam_added_operation" in responses.method_names_from_class(BedrockResponse)
    finally:
        del BedrockResponse.seam_added_operation
        core.clear()


# ------------------------------------------------------------------------------ bedrock runtime: profiles, IAM, clock
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
    assert json.loads(invoked["body"].read()) == {
        "generation": "Echo: Say hello", "prompt_token_count": 2, "generation_token_count": 3, "stop_reason": "stop"}

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
