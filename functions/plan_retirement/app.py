"""Validate a retirement request, lock its scope and write the affected tenants in batches (or report a dry run)."""
from genai_hub.handler import step_handler
from genai_hub.retirement import plan_retirement

handler = step_handler(plan_retirement)
