"""Assess the hub's total spend against the hub budget."""
from genai_hub.handler import step_handler
from genai_hub.metering import assess_hub

handler = step_handler(assess_hub, idempotent=False)
