"""Bedrock runtime: Converse and InvokeModel for imported models and through inference profiles,
with deterministic, scriptable answers, the caller's IAM policies enforced, and the usage metrics
Bedrock publishes to CloudWatch.

moto 5.2.5's bedrock-runtime (`moto.bedrockruntime`) has no Converse at all, and its InvokeModel
answers `{}` for any modelId: it knows neither the imported models nor the inference profiles of
hubsim.patches.bedrock (an unknown or deleted one is not refused), gives no text or token counts,
never throttles, checks no IAM policy and records nothing in CloudWatch. The hub's callers (its
evaluation of imported models, tenants invoking their application inference profiles from their
spoke accounts, the budget metering that reads the metrics) need all of that locally. moto routes
bedrock-runtime's REST-JSON calls to the `BedrockRuntimeResponse` method named after the operation
(botocore's model decides which, and parses the parameters: `automated_parameter_parsing`), so
this patch adds `converse` and replaces `invoke_model`; a bare foundation model's InvokeModel is
still handed to moto's own method (its `{}` body). Responses and errors are serialized by moto from
botocore's bedrock-runtime model (`ActionResult`, `ServiceException` subclasses:
ResourceNotFoundException 404, AccessDeniedException 403, ThrottlingException 429,
ValidationException 400, ModelErrorException 424).

Which model (the "route" of a modelId; lookups in the state hubsim.patches.bedrock keeps on moto's
BedrockBackend of an account and Region, under its lock):
- an imported model: an `...:imported-model/...` ARN or the name of an imported model of the
  caller's account and Region (after applying due import jobs). An imported-model ARN that is not
  there (unknown, deleted, not yet imported, or of another account or Region) is a
  ResourceNotFoundException.
- an application inference profile: an `...:application-inference-profile/<id>` ARN, looked up in
  the account and Region the ARN names (a tenant calls the hub's profile from its own spoke
  account, so that is not the caller's), or a bare profile id of the caller's account and Region.
  It answers as a foundation model.
- a system-defined (cross-Region) inference profile: an `...:inference-profile/<id>` ARN (looked up
  where it names) or a bare id such as `us.amazon.nova-pro-v1:0` of the caller's Region; it answers
  as a foundation model.
  A profile ARN of either kind that is not there (unknown, deleted, unknown Region) is a
  ResourceNotFoundException; a bare id cannot be told from a foundation model id, so an unknown one
  is a foundation model.
- any other modelId is a foundation model: Converse answers it with the default answer below,
  InvokeModel is moto's.

IAM, as AWS evaluates an InvokeModel request (Converse and ConverseStream authorise as
bedrock:InvokeModel / InvokeModelWithResponseStream: "Prerequisites for running model inference",
https://docs.aws.amazon.com/bedrock/latest/userguide/inference-prereq.html), with hubsim.iam_policy
over the caller as STS issued it (hubsim.principals.resolve): an assumed-role session (its role's
inline and attached policies, its session policy, its principal tags = the role's tags and the
session's tags, `aws:TokenIssueTime`), an IAM user (its policies), or the account root (moto's
default long-term keys: full access in its own account only). Bedrock has no resource-based
policies for inference profiles or imported models ("How Amazon Bedrock works with IAM",
https://docs.aws.amazon.com/bedrock/latest/userguide/security_iam_service-with-iam.html), so a
caller of another account than the resource's is refused whatever its own policies say (IAM's
cross-account rule). The resource's tags are its `aws:ResourceTag/*`. Through an application or
system-defined inference profile, the profile AND each foundation model behind it (every Region it
routes to) must be allowed, the models with the context key `bedrock:InferenceProfileArn` = the
profile ("Prerequisites for inference profiles",
https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html); a bare
foundation model id is checked as `arn:aws:bedrock:<Region>::foundation-model/<id>` without that key,
so a policy that allows models only through a profile refuses it. A refusal is an
AccessDeniedException with IAM's wording; it comes first: a resource the caller may not invoke is
AccessDenied whether it exists or not, and a denied call is not counted or metered. A session token
that does not match its access key is an UnrecognizedClientException.

Answers: the imported model's artifact folder (its modelDataSource.s3DataSource.s3Uri prefix, in
any account) may hold `hubsim-answers.json`:
    {"answers": {"<exact prompt text>": "<answer>"}, "default": "<answer for other prompts>",
     "latency_ms": 150, "throttle_first": 0}
(every key optional). It is read straight from moto's S3 backend of the bucket's owner
(`s3_backends.bucket_accounts`, no IAM check: Bedrock copied the artifacts at import time) on the
model's first call, and cached for the life of the model (an absent file is cached too; a file
that is not such JSON is a ModelErrorException and is read again next call). Without the file, for
a prompt it does not list and without "default", and for foundation models (directly or through a
profile), the answer is `default_answer(prompt)`: "Echo: <first 8 words of the prompt>"; latency
is `DEFAULT_LATENCY_MS` (100). The prompt is the text of the last user message of Converse (its
text blocks joined by newlines); of InvokeModel's JSON body, the "prompt" (Llama style), else
"inputText" (Titan style), else, when it has "messages" (Anthropic and Nova style), the text of the
last user message (its "content" string, or its content blocks' "text" joined by newlines).
`throttle_first: N` makes the first N calls of that imported model (Converse and InvokeModel,
whatever modelId form) raise ThrottlingException (HTTP 429); the count is per model.
`not_ready_first: N` makes the N calls before those raise ModelNotReadyException (HTTP 429), as an
imported model idle for a while answers until it is loaded again ("Invoke your imported model";
botocore retries it up to 5 attempts, as the API reference says the SDKs do). Converse of an
imported model whose GetImportedModel says instructSupported false (Qwen2.5, Qwen2-VL, Qwen2.5-VL,
GPT-OSS) is a ValidationException: Converse does not serve those architectures. Nothing
sleeps: latency is only reported.

Shapes (botocore's bedrock-runtime model):
- Converse -> {"output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
  "stopReason": "end_turn", "usage": {"inputTokens", "outputTokens", "totalTokens"},
  "metrics": {"latencyMs": latency}}.
- InvokeModel of an imported model or through a profile -> body (JSON bytes) {"generation":
  answer, "prompt_token_count": n_in, "generation_token_count": n_out, "stop_reason": "stop"},
  contentType application/json.
Tokens are whitespace-split word counts, at least 1: outputTokens of the answer; inputTokens of
all text the model reads: for Converse the system blocks and the text of every message, for
InvokeModel the prompt, or for a "messages" body its "system" (a string or text blocks) and the
text of every message.

Usage metrics, as Bedrock publishes them: namespace `AWS/Bedrock`, put with moto's
`cloudwatch_backends[account][region].put_metric_data` (so GetMetricStatistics / GetMetricData
read them). Each answered call puts Invocations 1 (Count), InputTokenCount n_in (Count),
OutputTokenCount n_out (Count) and InvocationLatency latency (Milliseconds); each throttled call
puts InvocationThrottles 1 (Count) and nothing else (like Bedrock, Invocations counts successful
requests only); a denied or not-found call puts nothing, and neither does moto's own InvokeModel
of a bare foundation model. One dimension, `ModelId`:
- through an application inference profile: the profile's ID (the last part of its ARN), whichever
  form the caller used (what recorded data of live accounts shows: Cloud Custodian's bedrock
  inference-profile metrics, whose recorded GetMetricStatistics answers carry token sums under
  ModelId = the profile id after a Converse with the ARN), on the CloudWatch of the caller's account and Region (the metrics land in the account whose
  credentials made the call: the hub's, since tenants call with sessions of the hub's role).
- otherwise (imported models, system-defined profiles, foundation models): the modelId exactly as
  passed, on the CloudWatch of the caller's account and Region.
Every datapoint is timestamped by the runtime's clock: real UTC time unless set with
`set_clock(now)` (a function returning a datetime; None restores real time) or, for a block,
`with simulated_now(datetime(...)):` (that fixed instant), so that a demo can drive traffic on
simulated days. A naive datetime is taken as UTC. The clock is per process and only stamps these
metrics (moto's reset does not touch it; nothing else in the emulation reads it).

State: the answers cache and the call counts live on moto's BedrockBackend (`hubsim_runtime`,
keyed by model ARN), so moto's reset forgets them with the models.
"""
import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from moto.bedrock.models import bedrock_backends
from moto.bedrockruntime.exceptions import BedrockRuntimeError
from moto.bedrockruntime.responses import BedrockRuntimeResponse
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult
from moto.s3.models import s3_backends

from hubsim import principals
from hubsim.patches import Patch
from hubsim.patches import bedrock as bedrock_patch
from hubsim.patches import bedrock_guardrails as guardrails
from hubsim.patches import invocation_logs

PATCH = Patch(
    name="bedrock-runtime",
    replaces="moto.bedrockruntime.responses.BedrockRuntimeResponse (no Converse; InvokeModel answers {} for any modelId, knows no imported model or inference profile, checks no IAM policy, records no metrics)",
    covered_by=", ".join([
        "tests/seams/test_bedrock_runtime.py::test_bedrock_runtime_answers_imported_models_deterministically",
        "tests/seams/test_bedrock_runtime.py::test_bedrock_runtime_meters_a_tenant_application_profile_in_the_hub",
        "tests/test_tenant_access.py::test_a_spoke_principal_allowed_everything_cannot_invoke_a_hub_profile",
        "tests/test_tenant_access.py::test_a_tenant_session_reaches_only_its_own_granted_profiles",
        "tests/seams/test_bedrock_runtime.py::test_bedrock_runtime_stamps_metrics_with_the_simulated_clock",
        "tests/seams/test_bedrock_runtime.py::test_bedrock_runtime_refuses_an_unknown_application_profile",
    ]),
)

ANSWERS_FILE = "hubsim-answers.json"
DEFAULT_LATENCY_MS = 100
METRIC_NAMESPACE = "AWS/Bedrock"
INVOKE_ACTION = "bedrock:InvokeModel"
_FM_ARN = "arn:aws:bedrock:{region}::foundation-model/{model}"
_PROFILE_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(application-)?inference-profile/.+$")
_lock = threading.Lock()
_clock: Callable[[], datetime] | None = None


class ResourceNotFound(BedrockRuntimeError):
    code = "ResourceNotFoundException"


class AccessDenied(BedrockRuntimeError):
    code = "AccessDeniedException"


class UnrecognizedClient(BedrockRuntimeError):
    code = "UnrecognizedClientException"


class Throttling(BedrockRuntimeError):
    code = "ThrottlingException"


class Validation(BedrockRuntimeError):
    code = "ValidationException"


class ModelError(BedrockRuntimeError):
    code = "ModelErrorException"


class ModelNotReady(BedrockRuntimeError):
    code = "ModelNotReadyException"


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Timestamp the runtime's metrics with `now()` from here on; None: real UTC time."""
    global _clock
    _clock = now


@contextlib.contextmanager
def simulated_now(dt: datetime) -> Iterator[None]:
    """Within the block, every metric the runtime puts is stamped `dt` (then the previous clock is back)."""
    previous = _clock
    set_clock(lambda: dt)
    try:
        yield
    finally:
        set_clock(previous)


def _metric_time() -> datetime:
    """The clock's time as moto's CloudWatch stores it: naive UTC (it compares with naive query times)."""
    now = _clock() if _clock is not None else datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now


def default_answer(prompt: str) -> str:
    """The answer without a script: "Echo: " and the first 8 words of the prompt."""
    return " ".join(["Echo:", *prompt.split()[:8]])


def count_tokens(text: str) -> int:
    """Whitespace-split words, at least 1."""
    return max(1, len(text.split()))


@dataclass(frozen=True)
class _Route:
    """Where a modelId leads: the resource IAM checks, what answers, and where the usage is metered."""
    resource_arn: str
    model: dict | None  # the imported model; None answers as a foundation model
    through_profile: bool
    account: str  # CloudWatch account and Region of the metrics
    region: str
    metric_model_id: str  # their ModelId dimension
    behind: tuple[str, ...] = ()  # the foundation models a profile routes to (each must be allowed too)


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


def _profile(account: str, region: str, identifier: str) -> dict | None:
    """The inference profile (id or ARN) of that account and Region, None if there is none."""
    try:
        backend = bedrock_backends[account][region]
    except KeyError:  # a Region moto does not know
        return None
    with bedrock_patch._lock:
        try:
            return bedrock_patch._find(backend, identifier)
        except bedrock_patch.ResourceNotFound:
            return None


def _route(account: str, region: str, model_id: str) -> _Route:
    """The route of a modelId called from `account` and `region` (see the module docstring)."""
    model = _imported_model(account, region, model_id)
    if model is not None:
        return _Route(model["modelArn"], model, False, account, region, model_id)
    is_arn = model_id.startswith("arn:")
    if is_arn and "inference-profile/" in model_id:
        named = _PROFILE_ARN.match(model_id)
        where = (named["account"], named["region"]) if named else None
        profile = _profile(*where, model_id) if where else None
        if profile is None:
            raise ResourceNotFound(f"The inference profile {model_id} does not exist or you do not have access to it.")
    else:
        where = (account, region)
        profile = None if is_arn else _profile(account, region, model_id)
        if profile is None:
            arn = model_id if is_arn else f"arn:aws:bedrock:{region}::foundation-model/{model_id}"
            return _Route(arn, None, False, account, region, model_id)
    arn = profile["inferenceProfileArn"]
    behind = tuple(m["modelArn"] for m in profile["models"])
    # An application profile's usage is published under its id, whatever form the caller used.
    metric_id = profile["inferenceProfileId"] if profile["type"] == "APPLICATION" else model_id
    return _Route(arn, None, True, account, region, metric_id, behind)


def _caller(self) -> principals.Principal:
    """Who signed this call (hubsim.principals); a session token that is not its access key's is refused."""
    resolved = principals.resolve(self.get_access_key(), self.headers.get("X-Amz-Security-Token"), self.current_account)
    if resolved is None:
        raise UnrecognizedClient("The security token included in the request is invalid.")
    return resolved[0]


def _resource_tags(arn: str) -> dict:
    parts = arn.split(":")
    try:
        backend = bedrock_backends[parts[4]][parts[3]]
    except (KeyError, IndexError):
        return {}
    return {t["Key"]: t["Value"] for t in backend.tagger.list_tags_for_resource(arn).get("Tags", [])}


def _authorize(self, caller: principals.Principal, resource_arn: str, context: dict | None = None,
               action: str = INVOKE_ACTION) -> None:
    """bedrock:InvokeModel (or `action`) on one resource, as IAM decides it (see the module docstring), by
    the evaluator every emulated call goes through (hubsim.patches.authz)."""
    from hubsim.patches import authz

    decision = authz.decide(caller, "bedrock", action, resource_arn, self.region, context)
    if not decision.allowed and authz.mode() == "enforce":
        raise AccessDenied(decision.message())


def _authorized_route(self, model_id: str, guardrail: guardrails.Request | None = None) -> _Route:
    """The route of this call, once the caller may invoke it: the resource, and through a profile each
    model behind it. An ARN that does not exist is checked as named (no tags), so one the caller may
    not invoke is AccessDenied whether it exists or not. A call with a guardrail also needs
    bedrock:ApplyGuardrail on it, and every check carries bedrock:GuardrailIdentifier
    (hubsim.patches.bedrock_guardrails)."""
    caller = _caller(self)
    context = {"bedrock:GuardrailIdentifier": guardrail.condition_value} if guardrail else {}
    try:
        route, missing = _route(self.current_account, self.region, model_id), None
    except ResourceNotFound as error:
        route, missing = None, error
    _authorize(self, caller, route.resource_arn if route else model_id, context or None)
    if missing is not None:
        raise missing
    for model_arn in route.behind:
        _authorize(self, caller, model_arn, {"bedrock:InferenceProfileArn": route.resource_arn, **context})
    if guardrail:
        _authorize(self, caller, guardrail.guardrail["arn"], None, "bedrock:ApplyGuardrail")
    return route


def _guardrail(self, identifier: str | None, version: str | None, trace: str | None) -> guardrails.Request | None:
    try:
        return guardrails.resolve(self.current_account, self.region, identifier, version, trace)
    except guardrails.Validation as error:
        raise Validation(error.message) from None


def _guarded(guardrail: guardrails.Request | None, text: str) -> tuple[dict | None, bool]:
    """(the prompt's assessment, whether the guardrail blocks it); (None, False) without a guardrail."""
    if guardrail is None:
        return None, False
    assessment, blocked, _ = guardrails.assess(guardrail, "INPUT", text)
    return assessment, blocked


def _guarded_answer(guardrail: guardrails.Request | None, answer: str) -> tuple[str, dict | None, bool, bool]:
    """(the answer as shown, its assessment, whether the guardrail blocked it, whether it intervened:
    blocked, or anonymised a match)."""
    if guardrail is None:
        return answer, None, False, False
    assessment, blocked, shown = guardrails.assess(guardrail, "OUTPUT", answer)
    return (guardrails.blocked_message(guardrail, "OUTPUT") if blocked else shown), assessment, blocked, blocked or shown != answer


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
        for name in ("latency_ms", "throttle_first", "not_ready_first"):
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


def _put_metrics(route: _Route, metrics: list[tuple[str, float, str]]) -> None:
    dimensions = [{"Name": "ModelId", "Value": route.metric_model_id}]
    timestamp = _metric_time()
    cloudwatch_backends[route.account][route.region].put_metric_data(METRIC_NAMESPACE, [
        {"MetricName": name, "Value": float(value), "Unit": unit, "Dimensions": dimensions, "Timestamp": timestamp}
        for name, value, unit in metrics
    ])


def _answer(route: _Route, prompt: str, input_text: str) -> tuple[str, int, int, int]:
    """(answer, input tokens, output tokens, latency ms) for one call; throttles and records metrics."""
    script = None
    if route.model is not None:
        script, call = _script_of(bedrock_backends[route.account][route.region], route.model)
        if script and call <= script.get("not_ready_first", 0):
            raise ModelNotReady("Model is not ready for inference. Wait and try your request again. Refer to the AWS SDK "
                                "documentation for automatic retries.")
        if script and call <= script.get("not_ready_first", 0) + script.get("throttle_first", 0):
            _put_metrics(route, [("InvocationThrottles", 1, "Count")])
            raise Throttling("Too many requests, please wait before trying again.")
    script = script or {}
    answer = script.get("answers", {}).get(prompt)
    if answer is None:
        answer = script.get("default", default_answer(prompt))
    latency = script.get("latency_ms", DEFAULT_LATENCY_MS)
    n_in, n_out = count_tokens(input_text), count_tokens(answer)
    _put_metrics(route, [
        ("Invocations", 1, "Count"), ("InputTokenCount", n_in, "Count"),
        ("OutputTokenCount", n_out, "Count"), ("InvocationLatency", latency, "Milliseconds"),
    ])
    return answer, n_in, n_out, latency


def _texts(blocks) -> list[str]:
    return [b["text"] for b in blocks or [] if isinstance(b, dict) and isinstance(b.get("text"), str)]


def _text_of(content) -> str:
    """A message's or system prompt's text: a string (Anthropic's InvokeModel), or text blocks joined by newlines."""
    return content if isinstance(content, str) else "\n".join(_texts(content))


def converse(self) -> ActionResult:
    model_id = self._get_param("modelId")
    messages = self._get_param("messages") or []
    config = self._get_param("guardrailConfig") or {}
    guardrail = _guardrail(self, config.get("guardrailIdentifier"), config.get("guardrailVersion"), config.get("trace"))
    route = _authorized_route(self, model_id, guardrail)
    if route.model is not None and not route.model.get("instructSupported", True):
        raise Validation("This action doesn't support the model that you provided. Try again with a supported text or chat model.")
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        raise Validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
    prompt = _text_of(users[-1].get("content"))
    everything = _texts(self._get_param("system")) + [t for m in messages for t in _texts(m.get("content"))]
    given, blocked = _guarded(guardrail, "\n".join(everything))
    if blocked:  # the model is never called: no tokens, no model metrics
        return ActionResult({
            "output": {"message": {"role": "assistant", "content": [{"text": guardrails.blocked_message(guardrail, "INPUT")}]}},
            "stopReason": "guardrail_intervened", "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
            "metrics": {"latencyMs": 1},
            **({"trace": {"guardrail": guardrails.trace(guardrail, given, None, True, None, "Converse")}} if guardrail.trace else {}),
        })
    said, n_in, n_out, latency = _answer(route, prompt, "\n".join(everything))
    _log(self, route, "Converse", model_id, n_in, n_out, self._get_param("requestMetadata"))
    answer, answered, blocked, intervened = _guarded_answer(guardrail, said)
    traced = guardrail is not None and guardrail.trace
    return ActionResult({
        "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
        "stopReason": "guardrail_intervened" if intervened else "end_turn",
        "usage": {"inputTokens": n_in, "outputTokens": n_out, "totalTokens": n_in + n_out},
        "metrics": {"latencyMs": latency},
        **({"trace": {"guardrail": guardrails.trace(guardrail, given, answered, intervened, said if blocked else None, "Converse")}}
           if traced else {}),
    })


def _invoke_prompt(payload) -> tuple[str, str] | None:
    """(prompt, all input text) of an InvokeModel JSON body, None when it has no prompt."""
    if not isinstance(payload, dict):
        return None
    prompt = payload.get("prompt", payload.get("inputText"))
    if isinstance(prompt, str):
        return prompt, prompt
    messages = [m for m in payload.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        return None
    system = payload.get("system")
    everything = ([_text_of(system)] if system else []) + [_text_of(m.get("content")) for m in messages]
    return _text_of(users[-1].get("content")), "\n".join(everything)


_original_invoke_model = BedrockRuntimeResponse.invoke_model


def _log(self, route: _Route, operation: str, model_id: str, n_in: int, n_out: int, metadata: dict | None) -> None:
    """The call in the model's account's invocation log, when it has one (hubsim.patches.invocation_logs)."""
    invocation_logs.record(route.account, route.region, caller_arn=_caller(self).arn, operation=operation, model_id=model_id,
                           input_tokens=n_in, output_tokens=n_out, when=_metric_time(), request_metadata=metadata)


def _header(self, name: str) -> str | None:
    return self._get_param(name) or self.headers.get(INVOKE_HEADERS[name])


def _guardrail_body_checks(self, guardrail: guardrails.Request | None) -> None:
    """The refusals the InvokeModel API reference lists for guardrails (guardrailIdentifier): a body
    with `amazon-bedrock-guardrailConfig` but no guardrail, and a guardrail with a contentType other
    than application/json (the default when none is given). The wording is ours."""
    content_type = _header(self, "contentType")
    if guardrail is not None and content_type and content_type.split(";")[0].strip().lower() != "application/json":
        raise Validation(f"A guardrail requires the contentType application/json, not {content_type}.")
    if guardrail is None:
        body = self._get_param("body")
        try:
            payload = json.loads(body.decode() if isinstance(body, (bytes, bytearray)) else body)
        except (ValueError, AttributeError, TypeError):
            return
        if isinstance(payload, dict) and "amazon-bedrock-guardrailConfig" in payload:
            raise Validation("The request body has amazon-bedrock-guardrailConfig but the request names no guardrail "
                             "(guardrailIdentifier and guardrailVersion).")


def invoke_model(self) -> ActionResult:
    guardrail = _guardrail(self, _header(self, "guardrailIdentifier"), _header(self, "guardrailVersion"), _header(self, "trace"))
    _guardrail_body_checks(self, guardrail)
    route = _authorized_route(self, self._get_param("modelId"), guardrail)
    if route.model is None and not route.through_profile:
        return _original_invoke_model(self)
    body = self._get_param("body")
    try:
        payload = json.loads(body.decode() if isinstance(body, (bytes, bytearray)) else body)
    except (ValueError, AttributeError, TypeError):
        raise Validation("Malformed input request: the body is not valid JSON, please reformat your input and try again.")
    found = _invoke_prompt(payload)
    if found is None:
        raise Validation('Malformed input request: required key [prompt] not found, please reformat your input and try again.')
    prompt, input_text = found
    given, blocked = _guarded(guardrail, input_text)
    said = None
    if blocked:
        answer, n_in, n_out, answered, intervened = guardrails.blocked_message(guardrail, "INPUT"), 0, 0, None, True
    else:
        said, n_in, n_out, _ = _answer(route, prompt, input_text)
        _log(self, route, "InvokeModel", self._get_param("modelId"), n_in, n_out, None)
        answer, answered, blocked, intervened = _guarded_answer(guardrail, said)

    def model_body(text: str) -> dict:
        return {"generation": text, "prompt_token_count": n_in, "generation_token_count": n_out, "stop_reason": "stop"}

    body = model_body(answer)
    if guardrail:  # what Bedrock adds to the model's body when a guardrail is applied ("Test your guardrail")
        body["amazon-bedrock-guardrailAction"] = "INTERVENED" if intervened else "NONE"
        if guardrail.trace:
            blocked_output = json.dumps(model_body(said)) if blocked and said is not None else None
            body["amazon-bedrock-trace"] = {"guardrail": guardrails.trace(guardrail, given, answered, intervened, blocked_output,
                                                                          "InvokeModel")}
    return ActionResult({"body": json.dumps(body), "contentType": "application/json"})


INVOKE_HEADERS = {"guardrailIdentifier": "X-Amzn-Bedrock-GuardrailIdentifier", "guardrailVersion": "X-Amzn-Bedrock-GuardrailVersion",
                  "trace": "X-Amzn-Bedrock-Trace", "contentType": "Content-Type"}


def apply() -> None:
    BedrockRuntimeResponse.converse = converse
    BedrockRuntimeResponse.invoke_model = invoke_model
