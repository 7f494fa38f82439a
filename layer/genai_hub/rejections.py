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


def record_tenant_rejection(step: dict, workflow: str, on_tenant_stream=lambda tenant_id: True) -> dict:
    """Audit a rejected request about a tenant and return the WorkflowInputRejected detail. The record
    goes to the tenant's stream when the request names a well-formed tenant id that `on_tenant_stream`
    accepts (e.g. a tenant that exists), else to `rejected#<workflow>`."""
    from genai_hub import audit, registry
    from genai_hub.errors import caught, rejected_field

    event, execution = event_of(step), step["context"]["execution"]
    name, message = caught(step["error"])
    field = rejected_field(message)
    detail = detail_of(event)
    tenant_id = detail.get("tenant_id")
    named = isinstance(tenant_id, str) and registry.TENANT_ID.match(tenant_id) and on_tenant_stream(tenant_id)
    actor = detail.get("requested_by") if isinstance(detail.get("requested_by"), str) else "unknown"
    audit.append(
        audit.tenant_stream(tenant_id) if named else f"rejected#{workflow}", action="RejectInput", outcome="REJECTED",
        workflow=workflow, execution=execution, actor=actor[:256],
        detail={"error": name, "field": field, "reason": message, "event_id": str(event.get("id", ""))[:256]},
    )
    return workflow_input_rejected(workflow, event, field, message, execution)
