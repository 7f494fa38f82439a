"""Revoke the retired model from one batch of tenants in the hub (profiles retagged, sessions revoked)."""
from genai_hub.handler import step_handler
from genai_hub.retirement import revoke_tenant_access

handler = step_handler(revoke_tenant_access)
