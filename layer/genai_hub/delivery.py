"""Events and notifications a workflow could not deliver: kept, audited, redelivered on request.

A workflow emits its outcome (TenantOnboarded, ModelImported, ...) through a direct EventBridge or
SNS integration after its work is done. When that call still fails after its retries, undoing
the work would be wrong (the tenant is onboarded; only the news is late) and dropping the event
would lose it (an evaluation starts on ModelImported). So the state machine catches the failure
and calls `keep_undelivered`: the entry goes to the undelivered queue (encrypted, alarmed), the
failure to the audit trail of the tenant or model it concerns, and the workflow goes on as if
delivered. `hubctl events redrive` puts what is kept back on the bus or topic.

A direct integration that is not a delivery (the onboarding lock) records its failure with
`record_step_failure` before the workflow ends in its failure state.
"""
import json

from genai_hub import audit, aws, config
from genai_hub.errors import caught
from genai_hub.idempotency import idempotent_step

HUB_EVENTS_STREAM = "hub#events"
UNDELIVERED_ACTION = {"event": "EventUndelivered", "notification": "NotificationUndelivered"}


def _stream(step: dict) -> str:
    """The audit stream the kept entry concerns: given, else the tenant or model in its detail."""
    if step.get("stream"):
        return step["stream"]
    event = step.get("event") or {}
    detail = event.get("Detail")
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = {}
    detail = detail if isinstance(detail, dict) else {}
    if detail.get("tenant_id"):
        return audit.tenant_stream(detail["tenant_id"])
    if detail.get("model"):
        return audit.model_stream(detail["model"])
    return HUB_EVENTS_STREAM


@idempotent_step
def keep_undelivered(step: dict) -> dict:
    """Keep an event or notification the workflow could not deliver, and audit that it is late."""
    name, message = caught(step["error"])
    kind = "event" if "event" in step else "notification"
    entry = step[kind]
    what = {"detail_type": entry.get("DetailType")} if kind == "event" else {"subject": entry.get("Subject")}
    queued = aws.client("sqs").send_message(
        QueueUrl=config.undelivered_queue_url(), MessageBody=json.dumps({"kind": kind, "state": step["state"], "entry": entry}),
        MessageAttributes={"workflow": {"DataType": "String", "StringValue": step["workflow"]}})
    audit.append(_stream(step), action=UNDELIVERED_ACTION[kind], outcome="FAILED", workflow=step["workflow"],
                 execution=step["context"]["execution"],
                 detail={**what, "state": step["state"], "error": name, "reason": message, "kept_as": queued["MessageId"]})
    return {"kept_as": queued["MessageId"]}


def record_step_failure(step: dict) -> dict:
    """Audit a direct service integration that failed after its retries (nothing to undo)."""
    name, message = caught(step["error"])
    # once: a retried invocation (its first answer lost) finds its own record and does not add a second
    audit.append(_stream(step), action="StepFailed", outcome="FAILED", workflow=step["workflow"],
                 execution=step["context"]["execution"], detail={"state": step["state"], "error": name, "reason": message},
                 once=True)
    return {"error": name}


def route(step: dict) -> dict:
    """One function for both: a kept delivery carries `event` or `notification`."""
    return keep_undelivered(step=step) if ("event" in step or "notification" in step) else record_step_failure(step)
