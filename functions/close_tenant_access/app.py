"""Compensation of Open tenant access: no principal may get the tenant's credentials any more."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import close_tenant_access

handler = step_handler(close_tenant_access)
