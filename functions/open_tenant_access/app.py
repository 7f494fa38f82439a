"""Record which principals of the tenant's account may get its credentials from the hub's broker."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import open_tenant_access

handler = step_handler(open_tenant_access)
