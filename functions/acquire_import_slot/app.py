"""Take Bedrock's one-import-per-Region slot, or report it busy."""
from genai_hub.handler import step_handler
from genai_hub.model_import import acquire_import_slot

handler = step_handler(acquire_import_slot, idempotent=False)
