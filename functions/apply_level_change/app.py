"""Act on one tenant's budget level change: suspend at RED, restore below it, audit."""
from genai_hub.handler import step_handler
from genai_hub.metering import apply_level_change

handler = step_handler(apply_level_change)
