"""Store the wait's task token where `hubctl retire --cancel` finds it."""
from genai_hub.handler import step_handler
from genai_hub.retirement import await_retirement_date

handler = step_handler(await_retirement_date)
