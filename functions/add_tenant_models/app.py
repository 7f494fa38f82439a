"""Tenant update: a profile and a grant per added model, as at onboarding."""
from genai_hub.handler import step_handler
from genai_hub.tenant_update import add_models

handler = step_handler(add_models)
