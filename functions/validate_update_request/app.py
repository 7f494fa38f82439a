"""Validate a TenantUpdateRequested event against its schema and the tenant as it is; the plan."""
from genai_hub.handler import step_handler
from genai_hub.tenant_update import event_id_of, validate_request


def validate(step: dict) -> dict:
    return {**validate_request(step["event"]), "event_id": event_id_of(step["event"], step["context"]["execution"])}


handler = step_handler(validate, idempotent=False)
