"""What every workflow does with input it rejects: read it safely, and describe the rejection.

Input that fails validation may be any JSON at all (a string, a list, null, an event whose detail is
not an object), so nothing here assumes a shape: the rejection must be audited and announced
whatever was sent.
"""


def event_of(step: dict) -> dict:
    """The rejected event as a dict, or {} when what was sent is not an object."""
    event = step.get("event")
    return event if isinstance(event, dict) else {}


def detail_of(event: dict) -> dict:
    detail = event.get("detail")
    return detail if isinstance(detail, dict) else {}


def workflow_input_rejected(workflow: str, event: dict, field: str, reason: str, execution: str) -> dict:
    """The WorkflowInputRejected detail (schemas/events/WorkflowInputRejected.json)."""
    return {"workflow": workflow, "detail_type": str(event.get("detail-type", ""))[:256], "event_id": str(event.get("id", ""))[:256],
            "field": field, "reason": reason, "execution": execution}
