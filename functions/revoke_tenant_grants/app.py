"""Compensation: revoke the tenant's grants (nothing to undo is fine)."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import revoke_tenant_grants

handler = step_handler(revoke_tenant_grants)
