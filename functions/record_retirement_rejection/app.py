"""Audit a retirement request that cannot be run as sent."""
from genai_hub.handler import step_handler
from genai_hub.retirement import record_rejection

handler = step_handler(record_rejection)
