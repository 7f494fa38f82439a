"""Check that the research bucket and key policies grant the import role what Bedrock needs."""
from genai_hub.handler import step_handler
from genai_hub.model_import import verify_grants

handler = step_handler(verify_grants, idempotent=False)
