"""Tenant update failed: the tenant as it was before it."""
from genai_hub.handler import step_handler
from genai_hub.tenant_update import undo

handler = step_handler(undo)
