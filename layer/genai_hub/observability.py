"""Powertools Logger and Tracer, created once for every function of the hub (metrics: handler.py).

Service name and log level come from the standard POWERTOOLS_* variables set in template.yaml.
"""
from aws_lambda_powertools import Logger, Tracer

SERVICE = "genai-hub"
METRICS_NAMESPACE = "GenAIHub"
logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)

# Correlate every log line of a workflow step with its Step Functions execution.
CORRELATION_ID_PATH = "context.execution"
