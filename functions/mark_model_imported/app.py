"""Mark the version IMPORTED, release the slot, return the ModelImported detail."""
from genai_hub.handler import step_handler
from genai_hub.model_import import mark_imported

handler = step_handler(mark_imported)
