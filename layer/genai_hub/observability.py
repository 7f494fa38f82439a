"""Powertools Logger and Tracer, created once for every function of the hub (metrics: handler.py).

Service name and log level come from the standard POWERTOOLS_* variables set in template.yaml.
"""
from aws_lambda_powertools import Logger, Tracer

SERVICE = "genai-hub"
METRICS_NAMESPACE = "GenAIHub"
logger = Logger(service=SERVICE)
# Only botocore is patched: the X-Ray SDK's default patches every library it knows that imports
# (requests, sqlite3, httplib...), which costs cold-start time for libraries the hub does not use and
# traces each AWS call twice (once in botocore, once in http.client underneath it).
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))

# Correlate every log line of a workflow step with its Step Functions execution.
CORRELATION_ID_PATH = "context.execution"
