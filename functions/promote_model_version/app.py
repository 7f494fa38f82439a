"""Mark the version APPROVED and grant it to the requested tenants that may use it."""
from genai_hub.evaluation import promote_version
from genai_hub.handler import step_handler

handler = step_handler(promote_version)
