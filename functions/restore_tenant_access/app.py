"""Offboarding failed before anything was deleted: the tenant's access as it was."""
from genai_hub.handler import step_handler
from genai_hub.offboarding import restore_access

handler = step_handler(restore_access)
