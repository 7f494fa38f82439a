"""Delete the imported model once no tenant keeps it; the retirement is COMPLETED."""
from genai_hub.handler import step_handler
from genai_hub.retirement import finish_retirement

handler = step_handler(finish_retirement)
