"""Compensation: delete the tenant's invoke role in its spoke account."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import delete_spoke_role

handler = step_handler(delete_spoke_role)
