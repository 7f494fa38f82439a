"""Mark the tenant ACTIVE and return the TenantOnboarded detail."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import activate_tenant

handler = step_handler(activate_tenant)
