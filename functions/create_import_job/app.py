"""Start the Bedrock Custom Model Import job (deterministic clientRequestToken)."""
from genai_hub.handler import step_handler
from genai_hub.model_import import create_import_job

handler = step_handler(create_import_job)
