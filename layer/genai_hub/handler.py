"""The one way a hub Lambda handler is built: Powertools around a step function of the workflow.

Order follows the cookbook: inject_lambda_context -> metrics -> capture_lambda_handler. The
correlation id is the Step Functions execution id the state machine passes in `context`.
"""
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from genai_hub.idempotency import prepare
from genai_hub.observability import CORRELATION_ID_PATH, METRICS_NAMESPACE, SERVICE, logger, tracer


def step_handler(step_fn, *, idempotent: bool = True):
    """Build `handler(event, context)` for a workflow step `step_fn(step=event)`."""

    @tracer.capture_lambda_handler
    def traced(event, context):
        if idempotent:
            prepare(context)
        return step_fn(step=event)

    @logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH, clear_state=True)
    def handler(event, context):
        # EphemeralMetrics keeps its metrics to this invocation. Powertools' Metrics shares one
        # metric set per process, which breaks when one process serves concurrent invocations.
        metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
        try:
            result = traced(event, context)
            metrics.add_metric(name="StepSucceeded", unit=MetricUnit.Count, value=1)
            return result
        except Exception:
            metrics.add_metric(name="StepFailed", unit=MetricUnit.Count, value=1)
            raise
        finally:
            metrics.add_dimension(name="step", value=step_fn.__name__)
            metrics.flush_metrics()

    handler.__doc__ = step_fn.__doc__
    return handler
