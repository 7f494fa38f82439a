"""Audit a rejected onboarding event and return the WorkflowInputRejected detail."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import record_rejection

handler = step_handler(record_rejection)
