"""Tenant update: budget, thresholds, RED policy, cost centre (the profiles' cost-centre tag follows)."""
from genai_hub.handler import step_handler
from genai_hub.tenant_update import apply_settings

handler = step_handler(apply_settings)
