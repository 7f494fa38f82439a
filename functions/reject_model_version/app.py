"""Mark the version REJECTED (thresholds, a person, or an expired approval)."""
from genai_hub.evaluation import reject_version
from genai_hub.handler import step_handler

handler = step_handler(reject_version)
