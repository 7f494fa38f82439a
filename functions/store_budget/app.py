"""Store the tenant's monthly budget and graduated alert thresholds."""
from genai_hub.handler import step_handler
from genai_hub.onboarding import store_budget

handler = step_handler(store_budget)
