"""Create the tenant's invoke role in its spoke account through the provisioning role (ExternalId)."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import create_spoke_role

handler = step_handler(create_spoke_role)
