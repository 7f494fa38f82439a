"""Write a signed digest of every audit chain's head to the Object Lock bucket (genai_hub.digests).

Invoked by EventBridge Scheduler (AuditDigestSchedule) or by `hubctl audit digest`; the event only
says who asked. The digest's time is the invocation's own second, never one the caller chooses.
"""
from genai_hub import digests
from genai_hub.observability import logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event, context):
    event = event if isinstance(event, dict) else {}
    result = digests.write_digest()
    logger.info("audit digest", extra={**result, "requested_by": event.get("requested_by"),
                                       "scheduled_time": event.get("scheduled_time")})
    return result
