"""Validate a budget run request and split the tenants to meter into batches."""
from genai_hub.handler import step_handler
from genai_hub.metering import plan_budget_run

handler = step_handler(plan_budget_run, idempotent=False)
