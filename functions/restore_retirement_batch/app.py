"""Undo one batch's schedule after a cancellation: grants back to ACTIVE, tenants told."""
from genai_hub.handler import step_handler
from genai_hub.retirement import restore_batch

handler = step_handler(restore_batch)
