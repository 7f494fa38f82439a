"""Export a UTC day's usage as FOCUS 1.2 rows to the usage export bucket (genai_hub.usage_export).

Invoked daily by EventBridge Scheduler (UsageExportSchedule: yesterday's usage) or by
`hubctl usage export --date DAY`. `date` (YYYY-MM-DD) names the day; without it, yesterday (UTC).
"""
from datetime import date, datetime, timedelta, timezone

from genai_hub import usage_export
from genai_hub.errors import InvalidInput
from genai_hub.observability import logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event, context):
    event = event if isinstance(event, dict) else {}
    try:
        day = date.fromisoformat(event["date"]) if event.get("date") else (datetime.now(timezone.utc) - timedelta(days=1)).date()
    except (TypeError, ValueError):
        raise InvalidInput(f"$.date: {event.get('date')!r} is not a day: expected YYYY-MM-DD", field="$.date") from None
    result = usage_export.export(day)
    logger.info("usage export", extra={**result, "requested_by": event.get("requested_by")})
    return result
