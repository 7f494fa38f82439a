"""Tenant update, first: the update marker on the tenant (one update at a time), the request checked under it."""
from genai_hub.handler import step_handler
from genai_hub.tenant_update import take_lock

handler = step_handler(take_lock)
