"""Offboarding, first: the tenant OFFBOARDING, its profiles retagged revoked, its sessions revoked."""
from genai_hub.handler import step_handler
from genai_hub.offboarding import cut_access

handler = step_handler(cut_access)
