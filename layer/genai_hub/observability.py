"""Powertools Logger, Tracer and Metrics, created once for every function of the hub.

Service name and log level come from the standard POWERTOOLS_* variables set in template.yaml.
Handlers decorate in the order inject_lambda_context -> log_metrics -> capture_lambda_handler.
"""
from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="genai-hub")
tracer = Tracer(service="genai-hub")
metrics = Metrics(namespace="GenAIHub", service="genai-hub")

# Correlate every log line of a workflow step with its Step Functions execution.
CORRELATION_ID_PATH = "context.execution"
