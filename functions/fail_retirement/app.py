"""Record a revocation that failed after the retirement date."""
from genai_hub.handler import step_handler
from genai_hub.retirement import fail_retirement

handler = step_handler(fail_retirement)
