"""Check a drop: config.json architecture, tokenizer files, safetensors headers, size."""
from genai_hub.handler import step_handler
from genai_hub.model_import import check_artifacts

handler = step_handler(check_artifacts, idempotent=False)
