"""Audit a budget run that stopped on an error."""
from genai_hub.handler import step_handler
from genai_hub.metering import record_failure

handler = step_handler(record_failure)
