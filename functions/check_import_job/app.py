"""Poll the import job once: status, next wait, deadline."""
from genai_hub.handler import step_handler
from genai_hub.model_import import check_import_job

handler = step_handler(check_import_job, idempotent=False)
