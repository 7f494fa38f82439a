"""Start an evaluation: ModelImported checked, version IMPORTED -> EVALUATING, policy and dataset loaded."""
from genai_hub.evaluation import start_evaluation
from genai_hub.handler import step_handler

handler = step_handler(start_evaluation)
