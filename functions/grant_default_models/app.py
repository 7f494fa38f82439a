"""Write the allowlist grants of the tenant's default models."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import grant_default_models

handler = step_handler(grant_default_models)
