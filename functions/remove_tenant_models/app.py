"""Tenant update: access to the removed models revoked first, then their profiles and grants deleted."""
from genai_hub.handler import step_handler
from genai_hub.tenant_update import remove_models

handler = step_handler(remove_models)
