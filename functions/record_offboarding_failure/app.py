"""Offboarding failed after deletion began: access stays cut, the failure recorded for a new request."""
from genai_hub.handler import step_handler
from genai_hub.offboarding import record_failure

handler = step_handler(record_failure)
