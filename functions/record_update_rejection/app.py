"""Audit a rejected tenant update and return the WorkflowInputRejected detail."""
from genai_hub.handler import step_handler
from genai_hub.tenant_update import record_rejection

handler = step_handler(record_rejection)
