"""Shared by the commands that start a workflow and follow it: flag errors, dates, starting an
execution under a readable name, polling with a deadline, and reading why the hub rejected a request."""
import json
import re
import sys
import time
from datetime import datetime, timezone

from hubctl import views
from hubctl.errors import USAGE


def usage_error(message: str, command: str) -> SystemExit:
    """A bad flag, found while reading the flags (before connecting): one line, exit 2, as argparse does."""
    print(f"hubctl {command}: error: {message}", file=sys.stderr)
    return SystemExit(USAGE)


def moment(text: str, flag: str, command: str, *, future: bool) -> str:
    """A date-time flag as RFC 3339 in UTC; a bare day means its midnight UTC. `future`: whether the
    moment must be after now (a retirement date) or not after it (a metering moment)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise usage_error(f"{flag} {text!r}: expected an RFC 3339 date-time such as 2026-12-31T00:00:00Z, or a day 2026-12-31",
                          command) from None
    if moment.tzinfo is None:
        raise usage_error(f"{flag} {text!r} has no time zone: add Z (UTC) or an offset, e.g. {text}Z", command)
    if future and moment <= datetime.now(timezone.utc):
        raise usage_error(f"{flag} {text} is in the past", command)
    if not future and moment > datetime.now(timezone.utc):
        raise usage_error(f"{flag} {text} is in the future: usage can only be metered up to now", command)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def positive_timeout(args, command: str) -> None:
    if args.timeout <= 0:
        raise usage_error(f"--timeout {args.timeout:g}: expected a number of seconds above 0, e.g. 300", command)


def start_named(sfn, machine: str, request: dict, name) -> str:
    """Start an execution named `name()` (a UTC timestamp in it); a second start within the same
    millisecond gets the next name. The execution ARN."""
    for attempt in range(3):
        try:
            return sfn.start_execution(stateMachineArn=machine, input=json.dumps(request), name=name())["executionArn"]
        except sfn.exceptions.ExecutionAlreadyExists:
            if attempt == 2:
                raise
            time.sleep(0.01)
    raise AssertionError("unreachable")


def poll(what: str, check, timeout: float, interval: float = 0.25):
    """Call `check` until it returns something (with a spinner) or `timeout` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    with views.console.status(what):
        while True:
            found = check()
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(interval)


def ended(sfn, execution_arn: str):
    """A check for poll: the execution described once it is no longer RUNNING."""
    def check():
        described = sfn.describe_execution(executionArn=execution_arn)
        return described if described["status"] != "RUNNING" else None
    return check


def rejection(hub, execution_arn: str) -> tuple[str, str]:
    """(field, reason) of a rejected request, from the execution's history (*Record rejection*'s result)."""
    from genai_hub.errors import caught, rejected_field

    failure = None
    for event in views.execution_history(hub, execution_arn):
        exited = event.get("stateExitedEventDetails") or {}
        if exited.get("name") == "Record rejection":
            found = json.loads(exited.get("output") or "{}").get("rejection") or {}
            if found.get("reason"):
                return found.get("field", "$"), found["reason"]
        details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails")
        if details:
            failure = {"Error": details.get("error"), "Cause": details.get("cause")}
    if failure:
        _, message = caught(failure)
        return rejected_field(message), message
    return "$", "see the execution's history"


def rejected_message(field: str, reason: str, flag_of_field: dict[str, str]) -> str:
    """"rejected: $.model (MODEL): why" with the flag that set the field, when one did."""
    flag = flag_of_field.get(field.split("[")[0])
    return f"rejected: {field}{f' ({flag})' if flag else ''}: {reason.removeprefix(f'{field}: ')}"


def execution_of_event(hub, machine_output: str, event_id: str, what: str, timeout: float) -> dict | None:
    """The finished execution of `machine_output`'s state machine that the bus event `event_id` started
    (its input is the event), waited for with a spinner; None after `timeout` seconds."""
    sfn, arn = hub.client("stepfunctions"), hub.output(machine_output)

    def check():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            for e in page["executions"]:
                described = sfn.describe_execution(executionArn=e["executionArn"])
                if json.loads(described["input"]).get("id") == event_id:
                    return described if described["status"] != "RUNNING" else None
        return None

    return poll(what, check, timeout, interval=0.5)


def send_event(hub, detail_type: str, detail: dict) -> str:
    """Put one event on the hub bus; its id. The bus refusing it is an AWS error (exit 3)."""
    from hubctl.errors import HubUnreachable

    entry = hub.client("events").put_events(Entries=[{
        "EventBusName": hub.output("EventBusName"), "Source": "genai.hub", "DetailType": detail_type, "Detail": json.dumps(detail),
    }])["Entries"][0]
    if "EventId" not in entry:
        raise HubUnreachable(f"the hub bus refused the {detail_type} event: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
    return entry["EventId"]
