"""Validate a TenantOffboardingRequested event and the tenant's status; what offboarding would delete."""
from genai_hub.handler import step_handler
from genai_hub.offboarding import validate_request


def validate(step: dict) -> dict:
    return validate_request(step["event"])


handler = step_handler(validate, idempotent=False)
