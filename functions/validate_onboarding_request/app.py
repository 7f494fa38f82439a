"""Validate a TenantOnboardingRequested event against its schema and the hub's guardrails; InvalidInput names the bad field.
Returns the tenant and the id of the event that asked (the onboarding lock remembers it, so a replayed
event never onboards again; an execution started without an event counts as its own request)."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import validate_in_hub


def validate(step: dict) -> dict:
    event = step["event"]
    tenant = validate_in_hub(event)
    event_id = event.get("id") if isinstance(event.get("id"), str) and event.get("id") else step["context"]["execution"]
    return {"tenant": tenant, "event_id": event_id}


handler = step_handler(validate, idempotent=False)
