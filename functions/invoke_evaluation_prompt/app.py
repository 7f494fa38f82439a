"""Run one dataset item against the imported model (bedrock-runtime Converse)."""
from genai_hub.evaluation import invoke_prompt
from genai_hub.handler import step_handler

handler = step_handler(invoke_prompt, idempotent=False)
