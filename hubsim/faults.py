"""Fault injection for in-process Lambda invocations, configured by tests and the demo.

A fault names a function (by its logical id, e.g. "CreateSpokeRoleFunction", matched within the
deployed function name), the error to raise, how many times, and when: `before` the handler runs
(nothing happened) or `after` it ran (its effect happened, but the caller sees an error, as when a
Lambda times out after doing its work). `after` faults are the hard case for compensations.

A fault can also name a Task state of a direct service integration (`inject_state`: events:putEvents,
sns:publish, dynamodb:putItem, ...): the call then fails as the service would answer it, a
ClientError with the given code, which the interpreter turns into the integration's error name
(`DynamoDB.ThrottlingException`, `SNS.ThrottlingException`, ...) for the state's Retry and Catch.
"""
import threading
from dataclasses import dataclass, field


class InjectedFault(Exception):
    """Base class of injected errors; the raised class is named after the requested error."""


_error_classes: dict[str, type] = {}


def _error_class(name: str) -> type:
    # The error name is what Step Functions sees (errorType): a class must carry that exact name.
    if name not in _error_classes:
        _error_classes[name] = type(name, (InjectedFault,), {})
    return _error_classes[name]


@dataclass
class Fault:
    function: str
    error: str = "InjectedFailure"
    message: str = "fault injected by hubsim"
    times: int | None = 1  # None: every invocation
    when: str = "before"
    fired: int = field(default=0)
    state: str | None = None  # a service-integration Task state, instead of a function


_faults: list[Fault] = []
_lock = threading.Lock()


def inject(function: str, error: str = "InjectedFailure", *, times: int | None = 1, when: str = "before",
           message: str = "fault injected by hubsim") -> Fault:
    if when not in ("before", "after"):
        raise ValueError("when must be 'before' or 'after'")
    fault = Fault(function=function, error=error, message=message, times=times, when=when)
    with _lock:
        _faults.append(fault)
    return fault


def inject_state(state: str, error: str = "ThrottlingException", *, times: int | None = 1,
                 message: str = "fault injected by hubsim") -> Fault:
    """Fail the service call of the Task state named `state` (a direct integration) `times` times."""
    fault = Fault(function="", error=error, message=message, times=times, state=state)
    with _lock:
        _faults.append(fault)
    return fault


def clear() -> None:
    with _lock:
        _faults.clear()


def _fire(function_name: str, when: str) -> None:
    with _lock:
        for fault in _faults:
            if fault.state is None and fault.when == when and fault.function in function_name and \
                    (fault.times is None or fault.fired < fault.times):
                fault.fired += 1
                raise _error_class(fault.error)(f"{fault.message} ({fault.error} in {fault.function}, {when} the handler)")


def before_invoke(function_name: str) -> None:
    _fire(function_name, "before")


def after_invoke(function_name: str) -> None:
    _fire(function_name, "after")


def before_service_call(state_name: str, operation: str) -> None:
    """Raise the ClientError of a fault on the Task state `state_name`, if one is due."""
    from botocore.exceptions import ClientError

    with _lock:
        for fault in _faults:
            if fault.state == state_name and (fault.times is None or fault.fired < fault.times):
                fault.fired += 1
                status = 400 if fault.error.endswith(("ThrottlingException", "ThroughputExceededException")) else 500
                raise ClientError({"Error": {"Code": fault.error, "Message": f"{fault.message} ({fault.error} in {state_name})"},
                                   "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "hubsim-fault"}}, operation)
