"""Mark the tenant FAILED with the reason, release its lock, return the failure event."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import mark_tenant_failed

handler = step_handler(mark_tenant_failed)
