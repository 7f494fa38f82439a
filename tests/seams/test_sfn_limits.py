"""Seam tests of hubsim/patches/sfn_limits.py: Step Functions' 256 KiB payload quota.

"256 KiB of data as a UTF-8 encoded string" for a task, state or execution (Step Functions service
quotas), at most 262,144 bytes. A Task whose result or request is over fails with
States.DataLimitExceeded, which its Catch sees (States.ALL included, as recorded on AWS); a state
whose output is over fails the execution, whatever it catches; StartExecution and SendTaskSuccess
refuse an oversized payload with ValidationException. The sizes are counted as AWS counts them:
compact JSON, UTF-8 (a two-byte character is two bytes, not a six-byte escape).
"""
import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

from .conftest import _lambda_role, _wait_for_execution
from .test_stepfunctions import _states_role

LIMIT = 262_144
CODE = '''
def sized(event, context):
    """{"blob":"<n times char>"}: 11 bytes of JSON around the blob."""
    return {"blob": event.get("char", "x") * event["n"]}


def echo(event, context):
    return {"keys": sorted(event)}
'''
ENVELOPE = len('{"blob":""}')


def _compact(value) -> str:
    """JSON as AWS counts it: {"a":"<n>"} is n + 8 bytes."""
    return json.dumps(value, separators=(",", ":"))


def _function(engine, name: str, handler: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", CODE)
    return engine.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=_lambda_role(engine), Handler=handler, Timeout=30,
        Code={"ZipFile": buffer.getvalue()})["FunctionArn"]


def _machine(engine, name: str, definition: dict, *statements: dict) -> str:
    role = _states_role(engine, f"{name}-states", *statements)
    return engine.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]


def _run(engine, machine: str, execution_input: dict) -> dict:
    sfn = engine.client("stepfunctions")
    return _wait_for_execution(sfn, sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))["executionArn"])


def _status(execution: dict) -> tuple:
    """What an assertion message shows of an execution (not its 256 KiB of input)."""
    return execution["status"], execution.get("error"), (execution.get("output") or "")[:200]


def _caught(catch_names: list[str], resource: str, **task) -> dict:
    return {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": resource, **task, "End": True,
                 "Catch": [{"ErrorEquals": catch_names, "ResultPath": "$.caught", "Next": "Caught"}]},
        "Caught": {"Type": "Pass", "Parameters": {"error.$": "$.caught.Error"}, "End": True}}}


def test_a_task_result_over_the_quota_fails_the_task_and_its_catch_sees_it(engine):
    # Given a Lambda returning {"blob": ...} of a chosen size, behind Catchers of the error by name and of States.ALL
    sized = _function(engine, "seam-sized", "app.sized")
    invoke = {"Action": "lambda:InvokeFunction", "Resource": sized}
    by_name = _machine(engine, "seam-result-by-name", _caught(["States.DataLimitExceeded"], sized, ResultPath=None), invoke)
    by_all = _machine(engine, "seam-result-by-all", _caught(["States.ALL"], sized, ResultPath=None), invoke)

    # When the result is exactly 262,144 bytes of compact JSON, Then it is within the quota
    exact = _run(engine, by_name, {"n": LIMIT - ENVELOPE})
    assert exact["status"] == "SUCCEEDED" and json.loads(exact["output"]) == {"n": LIMIT - ENVELOPE}, _status(exact)
    # and so is 2 x 100,000 bytes of a two-byte character (counted as UTF-8, not as \u00e9 escapes)
    accented = _run(engine, by_name, {"n": 100_000, "char": "\u00e9"})
    assert accented["status"] == "SUCCEEDED" and json.loads(accented["output"]) == {"n": 100_000, "char": "\u00e9"}, _status(accented)

    # When it is one byte more, Then the Task fails with States.DataLimitExceeded, caught by name and by States.ALL
    for machine in (by_name, by_all):
        over = _run(engine, machine, {"n": LIMIT - ENVELOPE + 1})
        assert over["status"] == "SUCCEEDED", _status(over)
        assert json.loads(over["output"]) == {"error": "States.DataLimitExceeded"}


def test_a_state_output_over_the_quota_fails_the_execution_whatever_it_catches(engine):
    # Given an inline Map whose iterations each return 20,000 bytes, collected into the state (ResultPath),
    # with a Catch on States.ALL: the shape of an evaluation that keeps every model output in its state
    sized = _function(engine, "seam-sized", "app.sized")
    definition = {"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.results", "End": True,
                 "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Answer",
                                   "States": {"Answer": {"Type": "Task", "Resource": sized, "End": True}}},
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Caught": {"Type": "Pass", "End": True}}}
    machine = _machine(engine, "seam-map-output", definition, {"Action": "lambda:InvokeFunction", "Resource": sized})

    # When 12 iterations return 240 KB in all, Then the state fits
    assert _run(engine, machine, {"items": [{"n": 20_000}] * 12})["status"] == "SUCCEEDED"

    # When 14 iterations return 280 KB, Then the execution fails with States.DataLimitExceeded: the
    # Map's own output is over, a terminal error its Catch never sees
    failed = _run(engine, machine, {"items": [{"n": 20_000}] * 14})
    assert (failed["status"], failed.get("error")) == ("FAILED", "States.DataLimitExceeded")
    sfn = engine.client("stepfunctions")
    history = sfn.get_execution_history(executionArn=failed["executionArn"])["events"]
    assert not [e for e in history if e["type"] == "PassStateEntered"]  # never reached "Caught"

    # And a Pass state's output over the quota fails the execution the same way
    oversized_pass = _machine(engine, "seam-pass-output", {"StartAt": "Big", "States": {
        "Big": {"Type": "Pass", "Result": {"blob": "x" * LIMIT}, "End": True}}})
    failed = _run(engine, oversized_pass, {})
    assert (failed["status"], failed.get("error")) == ("FAILED", "States.DataLimitExceeded")


def test_a_task_request_over_the_quota_fails_the_task_before_calling_anything(engine):
    # Given a Task whose Parameters put a 150,000-byte string in its request twice
    echo = _function(engine, "seam-echo", "app.echo")
    definition = _caught(["States.DataLimitExceeded"], echo, Parameters={"a.$": "$.text", "b.$": "$.text"}, ResultPath=None)
    machine = _machine(engine, "seam-request", definition, {"Action": "lambda:InvokeFunction", "Resource": echo})

    # When the request is 2 x 100,000 bytes, Then the Lambda is called
    small = _run(engine, machine, {"text": "x" * 100_000})
    assert small["status"] == "SUCCEEDED" and json.loads(small["output"]) == {"text": "x" * 100_000}, _status(small)

    # When it is 2 x 150,000 bytes, Then the Task fails with States.DataLimitExceeded, caught, and nothing was invoked
    over = _run(engine, machine, {"text": "x" * 150_000})
    assert over["status"] == "SUCCEEDED" and json.loads(over["output"]) == {"error": "States.DataLimitExceeded"}, _status(over)
    history = engine.client("stepfunctions").get_execution_history(executionArn=over["executionArn"])["events"]
    assert [e["lambdaFunctionFailedEventDetails"]["error"] for e in history if e["type"] == "LambdaFunctionFailed"] == [
        "States.DataLimitExceeded"]
    assert not [e for e in history if e["type"] in ("LambdaFunctionScheduled", "LambdaFunctionStarted")]


def test_start_execution_and_send_task_success_refuse_payloads_over_the_quota(engine):
    sfn, sqs = engine.client("stepfunctions"), engine.client("sqs")
    queue_url = sqs.create_queue(QueueName="seam-tokens")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # Given a machine that waits for a task token it sends to a queue
    definition = {"StartAt": "Wait", "States": {"Wait": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "TimeoutSeconds": 60, "End": True,
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}}}}}
    machine = _machine(engine, "seam-callback", definition, {"Action": "sqs:SendMessage", "Resource": queue_arn})

    # When it is started with 262,145 bytes of input, Then StartExecution refuses it, as the API does
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=machine, input=_compact({"a": "x" * (LIMIT - 8 + 1)}))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Value at 'input' failed to satisfy constraint" in refused.value.response["Error"]["Message"]
    assert not sfn.list_executions(stateMachineArn=machine)["executions"]
    # and the same for a machine that does not exist: the request's constraints are checked first
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=machine + "-missing", input=json.dumps({"a": "x" * LIMIT}))
    assert refused.value.response["Error"]["Code"] == "ValidationException"

    # When it is started with exactly 262,144 bytes, Then it runs and waits for its token
    execution = sfn.start_execution(stateMachineArn=machine, input=_compact({"a": "x" * (LIMIT - 8)}))["executionArn"]
    [message] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10)["Messages"]
    token = json.loads(message["Body"])["token"]

    # When the token is answered with 262,145 bytes, Then SendTaskSuccess refuses it and the Task still waits
    with pytest.raises(ClientError) as refused:
        sfn.send_task_success(taskToken=token, output=_compact({"a": "x" * (LIMIT - 8 + 1)}))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Value at 'output' failed to satisfy constraint" in refused.value.response["Error"]["Message"]
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"

    # When it is answered within the quota, Then the execution succeeds with that output
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    done = _wait_for_execution(sfn, execution)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"approved": True}, _status(done)
