"""Offboarding, last: OFFBOARDED with its tombstone; returns the TenantOffboarded detail."""
from genai_hub.handler import step_handler
from genai_hub.offboarding import mark_offboarded

handler = step_handler(mark_offboarded)
