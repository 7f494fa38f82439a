"""Audit a rejected offboarding request and return the WorkflowInputRejected detail."""
from genai_hub.handler import step_handler
from genai_hub.offboarding import record_rejection

handler = step_handler(record_rejection)
