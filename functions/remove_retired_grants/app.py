"""Delete one batch of tenants' inference profiles and grants of the retired model."""
from genai_hub.handler import step_handler
from genai_hub.retirement import remove_retired_grants

handler = step_handler(remove_retired_grants)
