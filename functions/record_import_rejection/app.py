"""Audit a drop that cannot be imported as sent; return the WorkflowInputRejected detail."""
from genai_hub.handler import step_handler
from genai_hub.model_import import record_rejection

handler = step_handler(record_rejection)
