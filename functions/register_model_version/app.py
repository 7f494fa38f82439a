"""Register the model version IMPORTING with its lineage (never twice)."""
from genai_hub.handler import step_handler
from genai_hub.model_import import register_version

handler = step_handler(register_version)
