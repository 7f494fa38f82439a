"""Register the tenant as PENDING (onboarding, after the tenant lock)."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import register_tenant

handler = step_handler(register_tenant)
