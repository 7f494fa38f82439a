"""Audit a ModelImported event that cannot be evaluated as sent."""
from genai_hub.evaluation import record_rejection
from genai_hub.handler import step_handler

handler = step_handler(record_rejection)
