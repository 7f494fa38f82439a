"""Rewrite one batch of tenants' invoke-role policies without the retired model."""
from genai_hub.handler import step_handler
from genai_hub.retirement import revoke_spoke_access

handler = step_handler(revoke_spoke_access)
