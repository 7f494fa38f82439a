"""Bedrock control plane: inference profiles (system-defined cross-Region and application).

moto 5.2.5 has no inference profiles at all. moto routes REST-JSON calls to a `BedrockResponse`
method named after the operation (botocore's model decides which), so this patch adds
CreateInferenceProfile, GetInferenceProfile, ListInferenceProfiles and DeleteInferenceProfile as
methods, and keeps their state on moto's per-account, per-Region `BedrockBackend` (reset with the
rest of moto). System-defined profiles come from data/bedrock_inference_profiles.json. It also
extends `BedrockBackend._list_arns` so TagResource/ListTagsForResource accept profile ARNs.
Shapes follow the real API (botocore validates requests on the client side).
"""
import functools
import json
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

from moto.bedrock import models as bedrock_models
from moto.bedrock.responses import BedrockResponse
from moto.core.exceptions import JsonRESTError

from hubsim.patches import Patch

PATCH = Patch(
    name="bedrock-inference-profiles",
    replaces="moto.bedrock (no inference-profile operations; _list_arns knows jobs and custom models only)",
    covered_by="tests/test_engine_seams.py::test_bedrock_inference_profiles_have_the_real_shapes",
)

_CATALOG = Path(__file__).resolve().parent.parent / "data" / "bedrock_inference_profiles.json"
_lock = threading.RLock()  # _state() is called with it held


class ResourceNotFound(JsonRESTError):
    code = 404

    def __init__(self, message):
        super().__init__("ResourceNotFoundException", message)


class Conflict(JsonRESTError):
    code = 409

    def __init__(self, message):
        super().__init__("ConflictException", message)


class Validation(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("ValidationException", message)


@functools.lru_cache(maxsize=1)
def catalog() -> dict:
    return json.loads(_CATALOG.read_text())


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _system_profiles(region: str, account: str) -> dict[str, dict]:
    geographies = catalog()["geographies"]
    profiles = {}
    for geo, regions in geographies.items():
        if region not in regions:
            continue
        for model_id, model in catalog()["models"].items():
            for prefix in model["profiles"]:
                if prefix not in (geo, "global"):
                    continue
                served = regions if prefix == geo else sorted({r for rs in geographies.values() for r in rs})
                profile_id = f"{prefix}.{model_id}"
                profiles[profile_id] = {
                    "inferenceProfileName": f"{prefix.upper()} {model['name']}",
                    "description": f"Routes requests to {model['name']} in {', '.join(served)}.",
                    "createdAt": datetime(2024, 8, 1, tzinfo=timezone.utc),
                    "updatedAt": datetime(2024, 8, 1, tzinfo=timezone.utc),
                    "inferenceProfileArn": f"arn:aws:bedrock:{region}:{account}:inference-profile/{profile_id}",
                    "models": [{"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{model_id}"} for r in served],
                    "inferenceProfileId": profile_id,
                    "status": "ACTIVE",
                    "type": "SYSTEM_DEFINED",
                }
    return profiles


def _state(backend) -> dict:
    """Inference profiles of one moto BedrockBackend (account + Region), created on first use."""
    with _lock:
        if not hasattr(backend, "hubsim_profiles"):
            backend.hubsim_profiles = _system_profiles(backend.region_name, backend.account_id)
            backend.hubsim_tokens = {}
        return backend.hubsim_profiles


def _find(backend, identifier: str) -> dict:
    profiles = _state(backend)
    for profile in profiles.values():
        if identifier in (profile["inferenceProfileId"], profile["inferenceProfileArn"]):
            return profile
    raise ResourceNotFound(f"Inference profile {identifier} not found.")


def _shape(profile: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in profile.items()}


def create_inference_profile(self) -> str:
    params = json.loads(self.body)
    backend = self.bedrock_backend
    profiles = _state(backend)
    token = params.get("clientRequestToken")
    with _lock:
        if token and token in backend.hubsim_tokens:  # idempotent retry of the same request
            existing = profiles.get(backend.hubsim_tokens[token])
            if existing:
                return json.dumps({"inferenceProfileArn": existing["inferenceProfileArn"], "status": "ACTIVE"})
        name = params["inferenceProfileName"]
        if any(p["type"] == "APPLICATION" and p["inferenceProfileName"] == name for p in profiles.values()):
            raise Conflict(f"Inference profile with name {name} already exists.")
    source_arn = params["modelSource"]["copyFrom"]
    source_id = source_arn.rsplit("/", 1)[-1]
    if ":foundation-model/" in source_arn:
        models = [{"modelArn": source_arn}]
    else:
        models = _find(backend, source_id)["models"]
        if _find(backend, source_id)["inferenceProfileArn"] != source_arn:
            raise Validation(f"The provided model source {source_arn} is not in this account and Region.")
    profile_id = uuid.uuid4().hex[:12]
    arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:application-inference-profile/{profile_id}"
    with _lock:
        profiles[profile_id] = {
            "inferenceProfileName": params["inferenceProfileName"],
            "description": params.get("description", ""),
            "createdAt": _now(),
            "updatedAt": _now(),
            "inferenceProfileArn": arn,
            "models": models,
            "inferenceProfileId": profile_id,
            "status": "ACTIVE",
            "type": "APPLICATION",
        }
        if token:
            backend.hubsim_tokens[token] = profile_id
    if params.get("tags"):
        backend.tagger.tag_resource(arn, [{"Key": t["key"], "Value": t["value"]} for t in params["tags"]])
    return json.dumps({"inferenceProfileArn": arn, "status": "ACTIVE"})


def _identifier(self) -> str:
    from urllib.parse import unquote

    return unquote(self.path.split("/inference-profiles/", 1)[1])


def get_inference_profile(self) -> str:
    return json.dumps(_shape(_find(self.bedrock_backend, _identifier(self))))


def list_inference_profiles(self) -> str:
    backend = self.bedrock_backend
    wanted = self._get_param("typeEquals") or self.querystring.get("type", [None])[0]
    limit = int((self.querystring.get("maxResults") or [1000])[0])
    start = int((self.querystring.get("nextToken") or [0])[0])
    profiles = sorted(_state(backend).values(), key=lambda p: (p["type"], p["inferenceProfileId"]))
    if wanted:
        profiles = [p for p in profiles if p["type"] == wanted]
    page = profiles[start:start + limit]
    body = {"inferenceProfileSummaries": [_shape(p) for p in page]}
    if start + limit < len(profiles):
        body["nextToken"] = str(start + limit)
    return json.dumps(body)


def delete_inference_profile(self) -> str:
    backend = self.bedrock_backend
    profile = _find(backend, _identifier(self))
    if profile["type"] != "APPLICATION":
        raise Validation("Only application inference profiles can be deleted.")
    with _lock:
        _state(backend).pop(profile["inferenceProfileId"], None)
    backend.tagger.delete_all_tags_for_resource(profile["inferenceProfileArn"])
    return "{}"


_original_list_arns = bedrock_models.BedrockBackend._list_arns


def _list_arns(self) -> list[str]:
    return _original_list_arns(self) + [p["inferenceProfileArn"] for p in _state(self).values()]


def apply() -> None:
    BedrockResponse.create_inference_profile = create_inference_profile
    BedrockResponse.get_inference_profile = get_inference_profile
    BedrockResponse.list_inference_profiles = list_inference_profiles
    BedrockResponse.delete_inference_profile = delete_inference_profile
    bedrock_models.BedrockBackend._list_arns = _list_arns
