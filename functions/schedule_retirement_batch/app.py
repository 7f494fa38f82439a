"""Notify one batch of tenants of the retirement date and mark their grants RETIRING."""
from genai_hub.handler import step_handler
from genai_hub.retirement import schedule_batch

handler = step_handler(schedule_batch)
