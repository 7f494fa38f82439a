"""At the retirement date: go ahead only if a second person confirmed a retirement the policy wants confirmed."""
from genai_hub.handler import step_handler
from genai_hub.retirement import check_confirmation

handler = step_handler(check_confirmation)
