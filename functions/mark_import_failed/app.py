"""Mark the version FAILED with the reason, release the slot, return ModelImportFailed."""
from genai_hub.handler import step_handler
from genai_hub.model_import import mark_import_failed

handler = step_handler(mark_import_failed)
