"""Seconds until the retirement date: the timeout of the wait that follows."""
from genai_hub.handler import step_handler
from genai_hub.retirement import start_grace_period

handler = step_handler(start_grace_period)
