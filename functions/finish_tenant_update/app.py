"""Tenant update, last: the marker released; returns the TenantUpdated detail."""
from genai_hub.handler import step_handler
from genai_hub.tenant_update import finish

handler = step_handler(finish)
