"""The retirement is CANCELLED (or FAILED before its date); the version as it was."""
from genai_hub.handler import step_handler
from genai_hub.retirement import end_cancelled_retirement

handler = step_handler(end_cancelled_retirement)
