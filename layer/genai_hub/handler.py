"""The one way a hub Lambda handler is built: Powertools around a step function of the workflow.

Decorator order follows the cookbook: inject_lambda_context -> log_metrics -> capture_lambda_handler.
The correlation id is the Step Functions execution id the state machine passes in `context`.
"""
from genai_hub.idempotency import prepare
from genai_hub.observability import CORRELATION_ID_PATH, logger, metrics, tracer


def step_handler(step_fn, *, idempotent: bool = True):
    """Build `handler(event, context)` for a workflow step `step_fn(step=event)`."""

    @logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH, clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def handler(event, context):
        if idempotent:
            prepare(context)
        result = step_fn(step=event)
        metrics.add_metric(name=f"{step_fn.__name__}Succeeded", unit="Count", value=1)
        return result

    handler.__doc__ = step_fn.__doc__
    return handler
