"""Follow Bedrock's model lifecycle: a foundation model in Legacy is retired for its holders
(genai_hub.lifecycle_watch).

Invoked by EventBridge Scheduler (LifecycleWatchSchedule) or by `hubctl models lifecycle --poll`; the
event only says who asked. The audit records the function's own identity as the actor.
"""
from genai_hub import lifecycle_watch
from genai_hub.observability import logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event, context):
    event = event if isinstance(event, dict) else {}
    result = lifecycle_watch.poll(f"{lifecycle_watch.REQUESTED_BY} ({context.function_name})", context.aws_request_id)
    logger.info("lifecycle poll", extra={"started": [s["model_id"] for s in result["started"]],
                                         "left_alone": result["left_alone"], "requested_by": event.get("requested_by")})
    return result
