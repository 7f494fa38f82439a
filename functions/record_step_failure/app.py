"""Keep an event or notification a workflow could not deliver, or audit a failed direct integration."""
from genai_hub.delivery import route
from genai_hub.handler import step_handler

handler = step_handler(route)
