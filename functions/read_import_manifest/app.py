"""Read and validate a drop's import.json through the import role (model import)."""
from genai_hub.handler import step_handler
from genai_hub.model_import import read_manifest

handler = step_handler(read_manifest, idempotent=False)
