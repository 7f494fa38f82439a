"""Bedrock runtime for imported models: Converse and InvokeModel with deterministic, scriptable
answers, and the usage metrics Bedrock publishes to CloudWatch.

moto 5.2.5's bedrock-runtime (`moto.bedrockruntime`) has no Converse at all, and its InvokeModel
answers `{}` for any modelId: it does not know the imported models of hubsim.patches.bedrock (an
unknown or deleted model is not refused), gives no text or token counts, never throttles and
records nothing in CloudWatch. The hub's callers of imported models need all of that to be
exercised locally. moto routes bedrock-runtime's REST-JSON calls to the `BedrockRuntimeResponse`
method named after the operation (botocore's model decides which, and parses the parameters:
`automated_parameter_parsing`), so this patch adds `converse` and replaces `invoke_model` with a
wrapper that hands every modelId that is not an imported model to moto's own method (foundation
models keep moto's `{}` body). Responses and errors are serialized by moto from botocore's
bedrock-runtime model (`ActionResult`, `ServiceException` subclasses: ResourceNotFoundException
404, ThrottlingException 429, ValidationException 400, ModelErrorException 424).

Which model: a modelId is an imported model when it is an `...:imported-model/...` ARN or the
name of an imported model, looked up (after applying due import jobs) in the state that
hubsim.patches.bedrock keeps on moto's BedrockBackend of the caller's account and Region. An
imported-model ARN that is not there (unknown, deleted, not yet imported, or of another account or
Region) is a ResourceNotFoundException. Any other modelId is a foundation model: Converse answers
it with the default answer below (latency 100 ms), InvokeModel is moto's.

Answers: the imported model's artifact folder (its modelDataSource.s3DataSource.s3Uri prefix, in
any account) may hold `hubsim-answers.json`:
    {"answers": {"<exact prompt text>": "<answer>"}, "default": "<answer for other prompts>",
     "latency_ms": 150, "throttle_first": 0}
(every key optional). It is read straight from moto's S3 backend of the bucket's owner
(`s3_backends.bucket_accounts`, no IAM check: Bedrock copied the artifacts at import time) on the
model's first call, and cached for the life of the model (an absent file is cached too; a file
that is not such JSON is a ModelErrorException and is read again next call). Without the file, or
for a prompt it does not list and without "default", the answer is `default_answer(prompt)`:
"Echo: <first 8 words of the prompt>"; latency is `DEFAULT_LATENCY_MS` (100). The prompt is the
text of the last user message of Converse (its text blocks joined by newlines), or the "prompt"
(Llama style), else "inputText" (Titan style), of InvokeModel's JSON body. `throttle_first: N`
makes the first N calls of that model (Converse and InvokeModel, whatever modelId form) raise
ThrottlingException (HTTP 429); the count is per model. Nothing sleeps: latency is only reported.

Shapes (botocore's bedrock-runtime model):
- Converse -> {"output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
  "stopReason": "end_turn", "usage": {"inputTokens", "outputTokens", "totalTokens"},
  "metrics": {"latencyMs": latency}}.
- InvokeModel -> body (JSON bytes) {"generation": answer, "prompt_token_count": n_in,
  "generation_token_count": n_out, "stop_reason": "stop"}, contentType application/json.
Tokens are whitespace-split word counts, at least 1: outputTokens of the answer; inputTokens of
InvokeModel's prompt, and for Converse of all text the model reads (system blocks and the text
blocks of every message).

Usage metrics, as Bedrock publishes them: put on moto's CloudWatch backend of the caller's
account and Region (`cloudwatch_backends[account][region].put_metric_data`, so GetMetricStatistics
/ GetMetricData read them), namespace `AWS/Bedrock`, one dimension `ModelId` = the modelId exactly
as passed (ARN or name). Each answered call (Converse or InvokeModel of an imported model, Converse
of a foundation model) puts Invocations 1 (Count), InputTokenCount n_in (Count), OutputTokenCount
n_out (Count) and InvocationLatency latency (Milliseconds); each throttled call puts
InvocationThrottles 1 (Count) and nothing else (like Bedrock, Invocations counts successful
requests only). moto's own InvokeModel of foundation models records nothing.

State: the answers cache and the call counts live on moto's BedrockBackend (`hubsim_runtime`,
keyed by model ARN), so moto's reset forgets them with the models.
"""
import json
import threading

from moto.bedrock.models import bedrock_backends
from moto.bedrockruntime.exceptions import BedrockRuntimeError
from moto.bedrockruntime.responses import BedrockRuntimeResponse
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult
from moto.s3.models import s3_backends

from hubsim.patches import Patch
from hubsim.patches import bedrock as bedrock_patch

PATCH = Patch(
    name="bedrock-runtime-imported-models",
    replaces="moto.bedrockruntime.responses.BedrockRuntimeResponse (no Converse; InvokeModel answers {} for any modelId, knows no imported model, records no metrics)",
    covered_by="tests/test_engine_seams.py::test_bedrock_runtime_answers_imported_models_deterministically",
)

ANSWERS_FILE = "hubsim-answers.json"
DEFAULT_LATENCY_MS = 100
METRIC_NAMESPACE = "AWS/Bedrock"
_lock = threading.Lock()


class ResourceNotFound(BedrockRuntimeError):
    code = "ResourceNotFoundException"


class Throttling(BedrockRuntimeError):
    code = "ThrottlingException"


class Validation(BedrockRuntimeError):
    code = "ValidationException"


class ModelError(BedrockRuntimeError):
    code = "ModelErrorException"


def default_answer(prompt: str) -> str:
    """The answer without a script: "Echo: " and the first 8 words of the prompt."""
    return " ".join(["Echo:", *prompt.split()[:8]])


def count_tokens(text: str) -> int:
    """Whitespace-split words, at least 1."""
    return max(1, len(text.split()))


def _runtime_state(backend) -> dict:
    """{model ARN: {"script": dict | None, "loaded": bool, "calls": int}} of one BedrockBackend."""
    with _lock:
        if not hasattr(backend, "hubsim_runtime"):
            backend.hubsim_runtime = {}
        return backend.hubsim_runtime


def _imported_model(account: str, region: str, model_id: str) -> dict | None:
    """The imported model record a modelId names, None for a foundation model."""
    backend = bedrock_backends[account][region]
    is_arn = model_id.startswith("arn:") and ":imported-model/" in model_id
    with bedrock_patch._lock:
        bedrock_patch._resolve_all(backend)
        _, models, _ = bedrock_patch._imports(backend)
        for model in models.values():
            if model_id in (model["modelArn"], model["modelName"]):
                return model
    if is_arn:
        raise ResourceNotFound(f"The model {model_id} does not exist or you do not have access to it.")
    return None


def _read_script(s3_uri: str) -> dict | None:
    """hubsim-answers.json under the model's artifact prefix, read from moto's S3 backend; None if absent."""
    bucket, prefix = bedrock_patch._split_s3_uri(s3_uri)
    where = f"s3://{bucket}/{prefix}{ANSWERS_FILE}"
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    partition, account = owner
    try:
        key = s3_backends[account][partition].get_object(bucket, f"{prefix}{ANSWERS_FILE}")
    except Exception:  # the bucket went away between the lookup and the read
        return None
    if key is None:
        return None
    try:
        script = json.loads(key.value)
    except ValueError as error:
        raise ModelError(f"{where} is not valid JSON: {error}")
    problems = []
    if not isinstance(script, dict):
        problems.append("not a JSON object")
    else:
        answers = script.get("answers", {})
        if not isinstance(answers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in answers.items()):
            problems.append('"answers" is not an object of strings')
        if "default" in script and not isinstance(script["default"], str):
            problems.append('"default" is not a string')
        for name in ("latency_ms", "throttle_first"):
            value = script.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f'"{name}" is not a non-negative integer')
    if problems:
        raise ModelError(f"{where}: {'; '.join(problems)}")
    return script


def _script_of(backend, model: dict) -> tuple[dict | None, int]:
    """(the model's script, this call's 1-based number), reading the script on first use."""
    state = _runtime_state(backend)
    with _lock:
        entry = state.setdefault(model["modelArn"], {"script": None, "loaded": False, "calls": 0})
        if not entry["loaded"]:
            entry["script"] = _read_script(model["modelDataSource"]["s3DataSource"]["s3Uri"])
            entry["loaded"] = True
        entry["calls"] += 1
        return entry["script"], entry["calls"]


def _put_metrics(account: str, region: str, model_id: str, metrics: list[tuple[str, float, str]]) -> None:
    dimensions = [{"Name": "ModelId", "Value": model_id}]
    cloudwatch_backends[account][region].put_metric_data(METRIC_NAMESPACE, [
        {"MetricName": name, "Value": float(value), "Unit": unit, "Dimensions": dimensions}
        for name, value, unit in metrics
    ])


def _answer(self, model_id: str, prompt: str, input_text: str) -> tuple[str, int, int, int]:
    """(answer, input tokens, output tokens, latency ms) for one call; throttles and records metrics."""
    account, region = self.current_account, self.region
    model = _imported_model(account, region, model_id)
    script = None
    if model is not None:
        backend = bedrock_backends[account][region]
        script, call = _script_of(backend, model)
        if script and call <= script.get("throttle_first", 0):
            _put_metrics(account, region, model_id, [("InvocationThrottles", 1, "Count")])
            raise Throttling("Too many requests, please wait before trying again.")
    script = script or {}
    answer = script.get("answers", {}).get(prompt)
    if answer is None:
        answer = script.get("default", default_answer(prompt))
    latency = script.get("latency_ms", DEFAULT_LATENCY_MS)
    n_in, n_out = count_tokens(input_text), count_tokens(answer)
    _put_metrics(account, region, model_id, [
        ("Invocations", 1, "Count"), ("InputTokenCount", n_in, "Count"),
        ("OutputTokenCount", n_out, "Count"), ("InvocationLatency", latency, "Milliseconds"),
    ])
    return answer, n_in, n_out, latency


def _texts(blocks) -> list[str]:
    return [b["text"] for b in blocks or [] if isinstance(b, dict) and isinstance(b.get("text"), str)]


def converse(self) -> ActionResult:
    model_id = self._get_param("modelId")
    messages = self._get_param("messages") or []
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        raise Validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
    prompt = "\n".join(_texts(users[-1].get("content")))
    everything = _texts(self._get_param("system")) + [t for m in messages for t in _texts(m.get("content"))]
    answer, n_in, n_out, latency = _answer(self, model_id, prompt, "\n".join(everything))
    return ActionResult({
        "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": n_in, "outputTokens": n_out, "totalTokens": n_in + n_out},
        "metrics": {"latencyMs": latency},
    })


_original_invoke_model = BedrockRuntimeResponse.invoke_model


def invoke_model(self) -> ActionResult:
    model_id = self._get_param("modelId")
    if _imported_model(self.current_account, self.region, model_id) is None:
        return _original_invoke_model(self)
    body = self._get_param("body")
    try:
        payload = json.loads(body.decode() if isinstance(body, (bytes, bytearray)) else body)
    except (ValueError, AttributeError, TypeError):
        raise Validation("Malformed input request: the body is not valid JSON, please reformat your input and try again.")
    prompt = payload.get("prompt", payload.get("inputText")) if isinstance(payload, dict) else None
    if not isinstance(prompt, str):
        raise Validation('Malformed input request: required key [prompt] not found, please reformat your input and try again.')
    answer, n_in, n_out, _ = _answer(self, model_id, prompt, prompt)
    return ActionResult({
        "body": json.dumps({"generation": answer, "prompt_token_count": n_in,
                            "generation_token_count": n_out, "stop_reason": "stop"}),
        "contentType": "application/json",
    })


def apply() -> None:
    BedrockRuntimeResponse.converse = converse
    BedrockRuntimeResponse.invoke_model = invoke_model
