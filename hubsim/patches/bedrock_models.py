"""Bedrock foundation models: ListFoundationModels and GetFoundationModel with their lifecycle.

moto 5.2.5 has neither. The models are those of the emulation's catalogue
(hubsim/data/bedrock_inference_profiles.json: every model the hub's profiles can serve), in every
Region, each with the summary fields of the API reference
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_ListFoundationModels.html,
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetFoundationModel.html) and
`modelLifecycle` {status ACTIVE | LEGACY, startOfLifeTime, legacyTime, publicExtendedAccessTime,
endOfLifeTime} as the Bedrock model lifecycle page describes it
(https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html: a model moves to Legacy
with an end-of-life date; models launched from September 2026 may be Legacy for 45 days).
ListFoundationModels filters by byProvider (case-insensitive, as the console's provider names);
GetFoundationModel takes a model id or its ARN; an unknown one is a ResourceNotFoundException.

AWS moves a model on its own schedule; the emulation moves one when a test or the demo says so:
`set_lifecycle(model_id, status, legacy_time=..., end_of_life_time=..., extended_access_time=...)`
(every Region), `reset_lifecycles()` back to every model ACTIVE. Module state, per process.
"""
import json
import threading
from datetime import datetime, timezone
from urllib.parse import unquote

from moto.bedrock.responses import BedrockResponse

from hubsim.patches import Patch
from hubsim.patches import bedrock as bedrock_patch
from hubsim.patches.bedrock import ResourceNotFound

PATCH = Patch(
    name="bedrock-foundation-models",
    replaces="moto.bedrock (no ListFoundationModels or GetFoundationModel)",
    covered_by="tests/seams/test_bedrock_models.py",
)

PROVIDERS = {"amazon": "Amazon", "anthropic": "Anthropic", "meta": "Meta", "mistral": "Mistral AI", "cohere": "Cohere",
             "ai21": "AI21 Labs", "deepseek": "DeepSeek", "openai": "OpenAI", "qwen": "Qwen"}
LAUNCHED = datetime(2024, 1, 1, tzinfo=timezone.utc)
_lifecycles: dict[str, dict] = {}
_lock = threading.Lock()


def set_lifecycle(model_id: str, status: str, *, legacy_time: datetime | None = None, end_of_life_time: datetime | None = None,
                  extended_access_time: datetime | None = None) -> None:
    if model_id not in bedrock_patch.catalog()["models"]:
        raise KeyError(f"{model_id} is not in the emulation's catalogue")
    if status not in ("ACTIVE", "LEGACY"):
        raise ValueError("status must be ACTIVE or LEGACY (FoundationModelLifecycleStatus)")
    with _lock:
        _lifecycles[model_id] = {"status": status, "legacyTime": legacy_time, "endOfLifeTime": end_of_life_time,
                                 "publicExtendedAccessTime": extended_access_time}


def reset_lifecycles() -> None:
    with _lock:
        _lifecycles.clear()


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def _summary(region: str, model_id: str) -> dict:
    model = bedrock_patch.catalog()["models"][model_id]
    with _lock:
        moved = dict(_lifecycles.get(model_id) or {"status": "ACTIVE"})
    lifecycle = {"status": moved["status"], "startOfLifeTime": _iso(LAUNCHED),
                 **{k: _iso(v) for k, v in moved.items() if k != "status" and v is not None}}
    return {
        "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}", "modelId": model_id, "modelName": model["name"],
        "providerName": PROVIDERS.get(model_id.split(".", 1)[0], model_id.split(".", 1)[0].title()),
        "inputModalities": ["TEXT"], "outputModalities": ["TEXT"], "responseStreamingSupported": True,
        "customizationsSupported": [], "inferenceTypesSupported": ["INFERENCE_PROFILE"], "modelLifecycle": lifecycle,
    }


def list_foundation_models(self) -> str:
    provider = (self.querystring.get("byProvider") or [None])[0]
    summaries = [_summary(self.region, m) for m in sorted(bedrock_patch.catalog()["models"])]
    if provider:
        summaries = [s for s in summaries if s["providerName"].lower() == provider.lower()]
    return json.dumps({"modelSummaries": summaries})


def get_foundation_model(self) -> str:
    identifier = unquote(self.path.split("/foundation-models/", 1)[1])
    model_id = identifier.rsplit("/", 1)[-1]
    if model_id not in bedrock_patch.catalog()["models"] or (identifier.startswith("arn:") and ":foundation-model/" not in identifier):
        raise ResourceNotFound(f"Could not resolve the foundation model from the provided model identifier: {identifier}")
    return json.dumps({"modelDetails": _summary(self.region, model_id)})


def apply() -> None:
    BedrockResponse.list_foundation_models = list_foundation_models
    BedrockResponse.get_foundation_model = get_foundation_model
