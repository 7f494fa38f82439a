"""Wait for a human decision: store the task token, version AWAITING_APPROVAL."""
from genai_hub.evaluation import request_approval
from genai_hub.handler import step_handler

handler = step_handler(request_approval)
