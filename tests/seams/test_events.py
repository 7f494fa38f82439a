"""Seam tests of hubsim/patches/events.py: EventBridge rules start state machines; failed starts go
to the target's DLQ.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json
import time

from hubsim import deploy

from .conftest import HUB_ACCOUNT, ISO_8601_UTC, _template, _wait_for_execution


def _executions(sfn, state_machine_arn: str, count: int, timeout: float = 30) -> list[dict]:
    """The first `count` executions of a machine, each finished."""
    deadline = time.monotonic() + timeout
    while True:
        found = sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]
        if len(found) >= count:
            return [_wait_for_execution(sfn, e["executionArn"]) for e in found]
        assert time.monotonic() < deadline, f"{len(found)} of {count} executions of {state_machine_arn} after {timeout}s"
        time.sleep(0.05)


EVENTS_TEMPLATE = """\
    AWSTemplateFormatVersion: "2010-09-09"
    Resources:
      Bus:
        Type: AWS::Events::EventBus
        Properties:
          Name: !Sub ${AWS::StackName}-bus
      DeadLetters:
        Type: AWS::SQS::Queue
      MachineRole:
        Type: AWS::IAM::Role
        Properties:
          RoleName: !Sub ${AWS::StackName}-states
          AssumeRolePolicyDocument:
            Statement:
              - {Effect: Allow, Principal: {Service: states.amazonaws.com}, Action: sts:AssumeRole}
      EventsRole:
        Type: AWS::IAM::Role
        Properties:
          RoleName: !Sub ${AWS::StackName}-events
          AssumeRolePolicyDocument:
            Statement:
              - {Effect: Allow, Principal: {Service: events.amazonaws.com}, Action: sts:AssumeRole}
          Policies:
            - PolicyName: start
              PolicyDocument:
                Statement:
                  - {Effect: Allow, Action: states:StartExecution, Resource: !Sub "arn:aws:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-*"}
      Machine:
        Type: AWS::StepFunctions::StateMachine
        Properties:
          StateMachineName: !Sub ${AWS::StackName}-target
          RoleArn: !GetAtt MachineRole.Arn
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
              RoleArn: !GetAtt EventsRole.Arn
    Outputs:
      BusName: {Value: !Ref Bus}
      MachineArn: {Value: !Ref Machine}
      RuleArn: {Value: !GetAtt Rule.Arn}
      DeadLetterQueueUrl: {Value: !Ref DeadLetters}
      DeadLetterQueueArn: {Value: !GetAtt DeadLetters.Arn}
"""


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
    missing = f"arn:aws:states:us-east-1:{HUB_ACCOUNT}:stateMachine:seam-dlq-does-not-exist"  # its role may start it
    events.put_targets(Rule="seam-rule", EventBusName=outputs["BusName"], Targets=[{
        "Id": "missing-machine", "Arn": missing, "RoleArn": f"arn:aws:iam::{HUB_ACCOUNT}:role/seam-dlq-events",
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
