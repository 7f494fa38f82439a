"""Score the outputs, store the full result in S3 and the summary in the registry, gate."""
from genai_hub.evaluation import score_evaluation
from genai_hub.handler import step_handler

handler = step_handler(score_evaluation)
