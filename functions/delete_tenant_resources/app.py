"""Offboarding: delete the tenant's application inference profiles and grants."""
from genai_hub.handler import step_handler
from genai_hub.offboarding import delete_resources

handler = step_handler(delete_resources)
