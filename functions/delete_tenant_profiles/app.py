"""Compensation: delete the tenant's application inference profiles."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import delete_tenant_profiles

handler = step_handler(delete_tenant_profiles)
