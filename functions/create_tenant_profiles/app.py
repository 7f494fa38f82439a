"""Create the tenant's application inference profiles from residency-safe cross-Region profiles."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import create_tenant_profiles

handler = step_handler(create_tenant_profiles)
