"""Seam tests of hubsim/patches/stepfunctions.py: CloudFormation state machines on the executing
backend, with DefinitionSubstitutions and nameless starts; definitions parsed once; Task timeouts.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json
import uuid
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from hubsim import deploy

from .conftest import HUB_ACCOUNT, _create_function, _lambda_role, _template, _wait_for_execution


def _states_role(engine, name: str, *statements: dict) -> str:
    """A state machine's role: trusted by Step Functions, allowed what `statements` say."""
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam = engine.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="integrations", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **st} for st in statements]}))
    return arn


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


def test_task_timeouts_are_stretched_for_a_cpu_shared_by_all_executions(engine, rendezvous, monkeypatch):
    from hubsim.patches import stepfunctions as sfn_patch

    # Given a Task with TimeoutSeconds 1 whose Lambda takes 1.5 s
    role = _lambda_role(engine)
    _create_function(engine, "seam-sleepy", "app.sleepy", "acme", role)
    function_arn = engine.client("lambda").get_function(FunctionName="seam-sleepy")["Configuration"]["FunctionArn"]
    definition = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Task", "Resource": function_arn, "TimeoutSeconds": 1, "End": True}}}
    sfn = engine.client("stepfunctions")
    machine_role = _states_role(engine, "seam-timeout-states", {"Action": "lambda:InvokeFunction", "Resource": function_arn})
    machine = sfn.create_state_machine(name="seam-timeout", definition=json.dumps(definition), roleArn=machine_role)["stateMachineArn"]

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
    machine = sfn.create_state_machine(name="seam-deadline", definition=json.dumps(by_path), roleArn=machine_role)["stateMachineArn"]
    deadline = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"seconds": 1.5, "deadline": 1}))["executionArn"]
    described = _wait_for_execution(sfn, deadline)
    assert (described["status"], described.get("error")) == ("FAILED", "States.Timeout")
