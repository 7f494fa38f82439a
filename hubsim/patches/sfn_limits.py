"""Step Functions' payload quota, counted as AWS counts it, wherever AWS applies it.

The rule. "Maximum input or output size for a task, state, or execution: 256 KiB of data as a
UTF-8 encoded string" (Step Functions developer guide, service quotas,
https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html); the API reference
states the same bound as "Maximum length of 262144" bytes in UTF-8 for StartExecution's `input`
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html),
SendTaskSuccess's `output`
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html) and every
history event's input and output. Over it (developer guide, error handling, States.DataLimitExceeded,
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html):

- a connector's output (a Task's result) fails the Task with `States.DataLimitExceeded`, which its
  Retry and Catch see, `States.ALL` included: recorded on AWS for a Lambda task, by ARN and through
  `lambda:invoke` (localstack/localstack,
  tests/aws/services/stepfunctions/v2/error_handling/test_states_errors.snapshot.json, 2024-03-21);
- a state's output fails the execution: the guide's "terminal error that can't be caught by the
  States.ALL error type", recorded on AWS for a Pass state (same snapshot, `test_start_large_input`);
- a state's input after Parameters processing (a Task's request) is listed with the connector's
  output; it fails the Task here the same way (AWS's wording of the cause is not documented: ours);
- StartExecution and SendTaskSuccess refuse the call: `ValidationException` "1 validation error
  detected: Value at 'input' failed to satisfy constraint: Member must have size less than or equal
  to 262144 bytes in UTF-8 encoding" (the service model's constraint; the same for `output`).

What moto's interpreter (`moto.stepfunctions.parser`) already does: it fails a Task result and a
state output over the quota with AWS's errors and causes (`_verify_size_quota` of
`asl/component/state/state.py`, `state_task_lambda.py`, `service/state_task_service.py`). Replaced:

1. `quotas.is_within_size_quota` (imported by name into those three modules) counts `json.dumps`
   with its default `", "`/`": "` separators and `\\uXXXX` escapes, and refuses exactly 262,144
   bytes (`<`): a payload AWS accepts could fail here. The replacement counts compact JSON as
   UTF-8 and allows up to and including 262,144 bytes.
2. `StateTaskLambda._verify_size_quota` measures the whole Invoke response (status code, version,
   payload); AWS measures what the function returned. The replacement measures the payload.
3. A Task's request after Parameters is never measured. `_eval_parameters` of `StateTask` (service
   integrations), `StateTaskLambda` and `StateTaskActivity` now fail the Task when it is over.
4. `StepFunctionsParserBackend.start_execution` accepts any input (the execution then fails on its
   first state) and `send_task_success` any output (the waiting Task then fails): both now refuse
   with the ValidationException above, before anything else is looked at, as the API does. The
   backend is where EventBridge targets start executions too (`hubsim.patches.events`), so an
   oversized event is a failed delivery there, as on AWS.

Not checked: a Map iteration's input after ItemSelector (each iteration's states are, through
their outputs and Task requests).
"""
import datetime
import json

from moto.stepfunctions.exceptions import ValidationException
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser import quotas
from moto.stepfunctions.parser.api import (
    HistoryEventType,
    LambdaFunctionFailedEventDetails,
    TaskFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state import state as state_module
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task as state_task_module
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_activitiy
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from hubsim.patches import Patch

PATCH = Patch(
    name="stepfunctions-payload-quota",
    replaces=(
        "moto.stepfunctions.parser.quotas.is_within_size_quota (spaced JSON, \\u escapes, < 256 KiB); "
        "StateTaskLambda._verify_size_quota (the whole Invoke response); StateTask/StateTaskLambda/"
        "StateTaskActivity._eval_parameters (request never measured); StepFunctionsParserBackend."
        "start_execution / send_task_success (any size accepted)"
    ),
    covered_by="tests/seams/test_sfn_limits.py",
)

MAX_PAYLOAD_BYTES = 262_144  # 256 KiB of data as a UTF-8 encoded string
_originals = {}


def _default(obj):
    # $$ context values and SDK results carry datetimes; AWS holds them as ISO-8601 strings
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    return str(obj)


def payload_bytes(value) -> int:
    """The size AWS holds `value` at: a string as it is, anything else as compact JSON, in UTF-8."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default)
    return len(text.encode("utf-8"))


def is_within_size_quota(value) -> bool:
    return payload_bytes(value) <= MAX_PAYLOAD_BYTES


def _refuse(member: str, value) -> None:
    if value is not None and payload_bytes(value) > MAX_PAYLOAD_BYTES:
        raise ValidationException(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must have size less than or equal to {MAX_PAYLOAD_BYTES} bytes in UTF-8 encoding")


def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
    _refuse("input", execution_input)
    return _originals["start_execution"](self, state_machine_arn, name=name, execution_input=execution_input,
                                         trace_header=trace_header)


def send_task_success(self, task_token, outcome):
    _refuse("output", outcome)
    return _originals["send_task_success"](self, task_token, outcome)


def _lambda_verify_size_quota(self, env, value) -> None:
    payload = value.get("Payload") if isinstance(value, dict) and "Payload" in value else value
    _originals["lambda_verify"](self, env=env, value=payload)


def _request_too_large(task, env) -> FailureEventException:
    error = StatesErrorNameType.StatesStatesDataLimitExceeded
    cause = (f"The state/task '{task.name}' has an input, after Parameters, with a size exceeding "
             "the maximum number of bytes service limit.")
    if isinstance(task, state_task_lambda.StateTaskLambda):
        event_type = HistoryEventType.LambdaFunctionFailed
        details = EventDetails(lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error.to_name(), cause=cause))
    else:
        event_type = HistoryEventType.TaskFailed
        details = EventDetails(taskFailedEventDetails=TaskFailedEventDetails(error=error.to_name(), cause=cause))
    return FailureEventException(failure_event=FailureEvent(
        env=env, error_name=StatesErrorName(typ=error), event_type=event_type, event_details=details))


def _measured_parameters(key: str):
    """`_eval_parameters` of one Task class, failing the Task when its request is over the quota
    (for a Lambda by ARN, the request is the payload it sends the function)."""

    def eval_parameters(self, env):
        parameters = _originals[key](self, env=env)
        request = parameters.get("Payload") if key == "lambda_parameters" else parameters
        if not is_within_size_quota(request):
            raise _request_too_large(self, env)
        return parameters

    return eval_parameters


def apply() -> None:
    if _originals:
        return
    # Every module that imported the predicate by name gets the one that counts as AWS does.
    for module in (quotas, state_module, state_task_lambda, state_task_service):
        module.is_within_size_quota = is_within_size_quota
    _originals["lambda_verify"] = state_task_lambda.StateTaskLambda._verify_size_quota
    state_task_lambda.StateTaskLambda._verify_size_quota = _lambda_verify_size_quota
    for key, cls in (("task_parameters", state_task_module.StateTask),
                     ("lambda_parameters", state_task_lambda.StateTaskLambda),
                     ("activity_parameters", state_task_activitiy.StateTaskActivity)):
        _originals[key] = cls._eval_parameters
        cls._eval_parameters = _measured_parameters(key)
    # hubsim.patches.stepfunctions replaced start_execution already (nameless starts): wrap its version.
    _originals["start_execution"] = parser_models.StepFunctionsParserBackend.start_execution
    parser_models.StepFunctionsParserBackend.start_execution = start_execution
    _originals["send_task_success"] = parser_models.StepFunctionsParserBackend.send_task_success
    parser_models.StepFunctionsParserBackend.send_task_success = send_task_success
