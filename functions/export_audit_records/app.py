"""Export one UTC day of audit records as JSON Lines to the digest bucket (genai_hub.audit_export).

Event: {"scheduled_time": "<aws.scheduler.scheduled-time>"} from the daily schedule (the day before
it), or {"day": "YYYY-MM-DD"} to export a past day by hand. An existing export is left as it is.
"""
from genai_hub import audit_export
from genai_hub.observability import logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event, context):
    result = audit_export.export_day(event if isinstance(event, dict) else {})
    logger.info("audit export", extra=result)
    return result
