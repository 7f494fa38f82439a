"""Validate a TenantOnboardingRequested event against its schema; InvalidInput names the bad field."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import validate_request


def validate(step: dict) -> dict:
    return validate_request(step["event"])


handler = step_handler(validate, idempotent=False)
