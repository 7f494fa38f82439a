"""Offboarding: meter the tenant up to the moment its access was cut (exactly once)."""
from genai_hub.handler import step_handler
from genai_hub.offboarding import close_usage

handler = step_handler(close_usage)
