"""Meter a batch of tenants' usage since their watermarks, price it, and assess their budget levels."""
from genai_hub.handler import step_handler
from genai_hub.metering import meter_tenants

handler = step_handler(meter_tenants, idempotent=False)
