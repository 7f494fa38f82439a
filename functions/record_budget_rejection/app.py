"""Audit a rejected budget run request."""
from genai_hub.handler import step_handler
from genai_hub.metering import record_rejection

handler = step_handler(record_rejection)
