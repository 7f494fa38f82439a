"""Bedrock control plane: inference profiles (system-defined cross-Region and application) and
Custom Model Import (model import jobs and imported models).

moto 5.2.5 has neither. moto routes REST-JSON calls to a `BedrockResponse` method named after the
operation (botocore's model decides which), so this patch adds the operations as methods and keeps
their state on moto's per-account, per-Region `BedrockBackend` (reset with the rest of moto). It
also extends `BedrockBackend._list_arns` so TagResource/ListTagsForResource accept profile, import
job and imported model ARNs. Shapes follow the real API (botocore validates requests on the client
side); timestamps are ISO 8601 strings. URL path identifiers may be names or URL-encoded ARNs.

Inference profiles: CreateInferenceProfile, GetInferenceProfile, ListInferenceProfiles,
DeleteInferenceProfile. System-defined profiles come from data/bedrock_inference_profiles.json.

Custom Model Import: CreateModelImportJob, GetModelImportJob, ListModelImportJobs,
GetImportedModel, ListImportedModels, DeleteImportedModel (seam test:
tests/seams/test_bedrock.py::test_bedrock_model_import_jobs_have_the_real_shapes).
- CreateModelImportJob is idempotent on clientRequestToken (same token -> same jobArn). A jobName
  already used by any job of the account/Region, or an importedModelName used by an existing
  imported model or an InProgress job, is a ConflictException. Like Bedrock, only ONE import job
  runs per account and Region: creating one while another is InProgress is a
  ServiceQuotaExceededException (HTTP 400).
- At creation the emulated Bedrock reads the artifacts as the service would: it assumes `roleArn`
  through moto STS (an in-process boto3 STS client, so the caller is moto's default account
  123456789012 and hubsim.patches.sts checks the role's trust policy for an AWS principal in that
  account; a role trusting only the bedrock.amazonaws.com Service principal is refused there), and
  with those credentials lists the s3Uri prefix (the bucket may be in another account) and reads
  `config.json`. What it finds is kept as the job's pending outcome: the role cannot be assumed, the
  bucket cannot be listed, config.json is missing, not JSON, or has no `architectures` list ->
  Failed with a failureMessage naming the problem; otherwise Completed, with modelArchitecture from
  config.json `model_type`.
- Status is computed lazily whenever a job or model is read (any of these operations, or
  ListTagsForResource): InProgress until creationTime + `import_seconds` (read at that moment),
  then the pending outcome is applied: endTime/lastModifiedTime are set and, if Completed, the
  imported model is created (tagged with importedModelTags) with instructSupported (false for the
  architectures Converse does not serve: NO_CONVERSE_ARCHITECTURES) and
  customModelUnits `CUSTOM_MODEL_UNITS` ({customModelUnitsPerModelCopy: 1, customModelUnitsVersion:
  "v1.0"}: botocore's CustomModelUnitsVersion pattern is `v<digits>.<digits>`).
  DeleteImportedModel removes the model (and its tags); its job stays Completed with
  importedModelArn.
- ListModelImportJobs (statusEquals, nameContains, creationTimeAfter/Before, sortOrder, default
  Descending by creationTime) and ListImportedModels (nameContains, the same time and sort
  filters) page with maxResults and an index nextToken.

Module-level settings and test hooks (per process; moto's reset does not touch them):
- `import_seconds: float` how long a job stays InProgress (env HUBSIM_IMPORT_SECONDS, default 2.0).
- `import_outcomes: dict[str, dict]` keyed by importedModelName, consulted each time an InProgress
  job is read: {"status": "Failed", "message": "..."} ends the job Failed with that message after
  import_seconds; {"status": "Hang"} keeps it InProgress (and so blocking further creates) until
  the entry is removed. `reset_import_outcomes()` clears it.
- `max_concurrent_import_jobs_seen: int` the most InProgress jobs of one account/Region seen at an
  accepted create, the new one included (the rule says it is never above 1);
  `rejected_concurrent_creates: int` creates refused with ServiceQuotaExceededException.
  `reset_import_counters()` zeroes both. Read them as module attributes (bedrock.<name>), not by
  `from ... import`, since they are rebound.
"""
import functools
import json
import os
import secrets
import string
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

from moto.bedrock import models as bedrock_models
from moto.bedrock.responses import BedrockResponse
from moto.core.exceptions import JsonRESTError

from hubsim.patches import Patch

PATCH = Patch(
    name="bedrock-inference-profiles",
    replaces="moto.bedrock (no inference-profile or model-import operations; _list_arns knows jobs and custom models only)",
    covered_by="tests/seams/test_bedrock.py::test_bedrock_inference_profiles_have_the_real_shapes",
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


class ServiceQuotaExceeded(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("ServiceQuotaExceededException", message)


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
    # Profiles are keyed by id, and an ARN ends with it: no scan (a retirement deletes thousands).
    profile = profiles.get(identifier.rsplit("/", 1)[-1])
    if profile and identifier in (profile["inferenceProfileId"], profile["inferenceProfileArn"]):
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
        if any(p["type"] == "APPLICATION" and p["inferenceProfileName"] == name for p in list(profiles.values())):
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
    profiles = sorted(list(_state(backend).values()), key=lambda p: (p["type"], p["inferenceProfileId"]))
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


# ------------------------------------------------------------------------------ model import
import_seconds: float = float(os.environ.get("HUBSIM_IMPORT_SECONDS", "2.0"))
import_outcomes: dict[str, dict] = {}
max_concurrent_import_jobs_seen: int = 0
rejected_concurrent_creates: int = 0

_IMPORT_SESSION = "bedrock-model-import"
CUSTOM_MODEL_UNITS = {"customModelUnitsPerModelCopy": 1, "customModelUnitsVersion": "v1.0"}


def reset_import_outcomes() -> None:
    """Forget every forced outcome (import_outcomes)."""
    with _lock:
        import_outcomes.clear()


def reset_import_counters() -> None:
    """Zero max_concurrent_import_jobs_seen and rejected_concurrent_creates."""
    global max_concurrent_import_jobs_seen, rejected_concurrent_creates
    with _lock:
        max_concurrent_import_jobs_seen = 0
        rejected_concurrent_creates = 0


def _resource_id() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))


def _imports(backend) -> tuple[dict, dict, dict]:
    """(jobs by jobArn, imported models by modelArn, jobArn by clientRequestToken) of one backend."""
    with _lock:
        if not hasattr(backend, "hubsim_import_jobs"):
            backend.hubsim_import_jobs = {}
            backend.hubsim_imported_models = {}
            backend.hubsim_import_tokens = {}
        return backend.hubsim_import_jobs, backend.hubsim_imported_models, backend.hubsim_import_tokens


def _public(record: dict) -> dict:
    return _shape({k: v for k, v in record.items() if not k.startswith("_") and v is not None})


def _split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise Validation(f"Invalid S3 URI {uri}.")
    bucket, _, key = uri[len("s3://"):].partition("/")
    prefix = key.rstrip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _read_artifacts(region: str, account: str, role_arn: str, s3_uri: str, job_arn: str) -> dict:
    """What Bedrock finds under s3_uri acting as role_arn: the pending outcome of the job. Bedrock
    assumes the role as the service bedrock.amazonaws.com, with the job as aws:SourceArn and its
    account as aws:SourceAccount (the confused-deputy conditions the role's trust policy may set)."""
    import boto3
    from botocore.exceptions import ClientError

    from hubsim.patches import sts as sts_patch

    bucket, prefix = _split_s3_uri(s3_uri)
    where = f"s3://{bucket}/{prefix}"
    try:
        credentials = sts_patch.assume_role_as_service(
            "bedrock.amazonaws.com", role_arn, _IMPORT_SESSION, region,
            {"aws:SourceAccount": account, "aws:SourceArn": job_arn})
    except sts_patch.AccessDenied as error:
        return {"status": "Failed", "message": f"Amazon Bedrock could not assume role {role_arn}: {error.reason}"}
    s3 = boto3.client(
        "s3", region_name=region, aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    )
    config_key = f"{prefix}config.json"
    try:
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for o in page.get("Contents", [])]
        if config_key not in keys:
            return {"status": "Failed", "message": f"config.json not found under {where}"}
        body = s3.get_object(Bucket=bucket, Key=config_key)["Body"].read()
    except ClientError as error:
        code = error.response["Error"].get("Code")
        return {"status": "Failed", "message": f"Could not read the model artifacts under {where} with role {role_arn}: {code}: {error.response['Error'].get('Message', '')}"}
    try:
        config = json.loads(body)
    except ValueError as error:
        return {"status": "Failed", "message": f"config.json under {where} is not valid JSON: {error}"}
    if not isinstance(config, dict) or not isinstance(config.get("architectures"), list) or not config["architectures"]:
        return {"status": "Failed", "message": f"config.json under {where} has no 'architectures' list"}
    model_type = config.get("model_type")
    return {"status": "Completed", "modelArchitecture": model_type if isinstance(model_type, str) else None}


# model_type values whose imported models Converse does not serve ("Invoke your imported model":
# Qwen2.5, Qwen2-VL, Qwen2.5-VL, GPT-OSS): GetImportedModel says instructSupported false for them.
NO_CONVERSE_ARCHITECTURES = {"qwen2", "qwen2_vl", "qwen2_5_vl", "gpt_oss"}


def _resolve(backend, job: dict) -> None:
    """Apply the outcome of an InProgress job whose time has come (call with _lock held)."""
    if job["status"] != "InProgress":
        return
    forced = import_outcomes.get(job["importedModelName"])
    if forced is not None and forced.get("status") not in ("Failed", "Hang"):
        raise ValueError(f"import_outcomes[{job['importedModelName']!r}]: status must be 'Failed' or 'Hang', not {forced.get('status')!r}")
    if forced is not None and forced["status"] == "Hang":
        return
    now = _now()
    if now < job["creationTime"] + timedelta(seconds=import_seconds):
        return
    outcome = {"status": "Failed", "message": forced.get("message", "Model import failed.")} if forced else job["_outcome"]
    job["endTime"] = job["lastModifiedTime"] = now
    if outcome["status"] == "Failed":
        job["status"], job["failureMessage"] = "Failed", outcome["message"]
        return
    _, models, _ = _imports(backend)
    model_arn = job["_modelArn"]
    models[model_arn] = {
        "modelArn": model_arn,
        "modelName": job["importedModelName"],
        "jobName": job["jobName"],
        "jobArn": job["jobArn"],
        "modelDataSource": job["modelDataSource"],
        "creationTime": now,
        "modelArchitecture": outcome.get("modelArchitecture"),
        "modelKmsKeyArn": job.get("importedModelKmsKeyArn"),
        "instructSupported": outcome.get("modelArchitecture") not in NO_CONVERSE_ARCHITECTURES,
        "customModelUnits": dict(CUSTOM_MODEL_UNITS),
    }
    job["status"], job["importedModelArn"] = "Completed", model_arn
    if job["_modelTags"]:
        backend.tagger.tag_resource(model_arn, [{"Key": t["key"], "Value": t["value"]} for t in job["_modelTags"]])


def _resolve_all(backend) -> None:
    with _lock:
        jobs, _, _ = _imports(backend)
        for job in jobs.values():
            _resolve(backend, job)


def _path_identifier(self, collection: str) -> str:
    return unquote(self.path.split(f"/{collection}/", 1)[1].split("?", 1)[0])


def _find_by_arn_or_name(records: dict, identifier: str, arn: str, name: str, what: str) -> dict:
    # Over a snapshot: other threads create and delete records meanwhile.
    for record in list(records.values()):
        if identifier in (record[arn], record[name]):
            return record
    raise ResourceNotFound(f"{what} {identifier} not found.")


def _find_job(backend, identifier: str) -> dict:
    return _find_by_arn_or_name(_imports(backend)[0], identifier, "jobArn", "jobName", "Model import job")


def _find_model(backend, identifier: str) -> dict:
    return _find_by_arn_or_name(_imports(backend)[1], identifier, "modelArn", "modelName", "Imported model")


def create_model_import_job(self):
    global max_concurrent_import_jobs_seen, rejected_concurrent_creates
    params = json.loads(self.body)
    backend = self.bedrock_backend
    jobs, models, tokens = _imports(backend)
    token = params.get("clientRequestToken")
    with _lock:
        if token and tokens.get(token) in jobs:  # idempotent retry of the same request
            return 201, {"status": 201}, json.dumps({"jobArn": tokens[token]})
    s3_uri = ((params.get("modelDataSource") or {}).get("s3DataSource") or {}).get("s3Uri")
    if not s3_uri:
        raise Validation("modelDataSource.s3DataSource.s3Uri is required.")
    _split_s3_uri(s3_uri)
    # Read the artifacts outside the lock (nested moto calls), then check and insert atomically
    job_arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:model-import-job/{_resource_id()}"
    outcome = _read_artifacts(backend.region_name, backend.account_id, params["roleArn"], s3_uri, job_arn)
    with _lock:
        _resolve_all(backend)
        if token and tokens.get(token) in jobs:
            return 201, {"status": 201}, json.dumps({"jobArn": tokens[token]})
        job_name, model_name = params["jobName"], params["importedModelName"]
        if any(j["jobName"] == job_name for j in jobs.values()):
            raise Conflict(f"A model import job with name {job_name} already exists.")
        if any(m["modelName"] == model_name for m in models.values()) or any(
                j["importedModelName"] == model_name and j["status"] == "InProgress" for j in jobs.values()):
            raise Conflict(f"An imported model with name {model_name} already exists or is being imported.")
        running = [j for j in jobs.values() if j["status"] == "InProgress"]
        if running:
            rejected_concurrent_creates += 1
            raise ServiceQuotaExceeded(
                f"You can run only 1 model import job at a time in account {backend.account_id} and Region "
                f"{backend.region_name}; model import job {running[0]['jobName']} ({running[0]['jobArn']}) is InProgress."
            )
        max_concurrent_import_jobs_seen = max(max_concurrent_import_jobs_seen, len(running) + 1)
        prefix = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}"
        # job_arn: drawn before the artifacts were read (the role's trust sees it as aws:SourceArn)
        now = _now()
        kms = params.get("importedModelKmsKeyId")
        jobs[job_arn] = {
            "jobArn": job_arn,
            "jobName": job_name,
            "importedModelName": model_name,
            "importedModelArn": None,  # shown once Completed
            "roleArn": params["roleArn"],
            "modelDataSource": {"s3DataSource": {"s3Uri": s3_uri}},
            "status": "InProgress",
            "failureMessage": None,
            "creationTime": now,
            "lastModifiedTime": now,
            "endTime": None,
            "vpcConfig": params.get("vpcConfig"),
            "importedModelKmsKeyArn": kms if kms and kms.startswith("arn:") else None,
            "_outcome": outcome,
            "_modelArn": f"{prefix}:imported-model/{_resource_id()}",
            "_modelTags": params.get("importedModelTags") or [],
        }
        if token:
            tokens[token] = job_arn
    if params.get("jobTags"):
        backend.tagger.tag_resource(job_arn, [{"Key": t["key"], "Value": t["value"]} for t in params["jobTags"]])
    return 201, {"status": 201}, json.dumps({"jobArn": job_arn})


def get_model_import_job(self) -> str:
    backend = self.bedrock_backend
    with _lock:
        _resolve_all(backend)
        return json.dumps(_public(_find_job(backend, _path_identifier(self, "model-import-jobs"))))


def _query(self, name: str):
    values = self.querystring.get(name)
    return values[0] if values else None


def _time_param(self, name: str):
    value = _query(self, name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = datetime.fromtimestamp(float(value), timezone.utc)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _page(self, records: list[dict], key: str, summary_fields: tuple[str, ...], name_field: str) -> str:
    after, before = _time_param(self, "creationTimeAfter"), _time_param(self, "creationTimeBefore")
    name_contains = _query(self, "nameContains")
    records = [r for r in records if (not name_contains or name_contains in r[name_field])
               and (after is None or r["creationTime"] > after) and (before is None or r["creationTime"] < before)]
    records.sort(key=lambda r: r["creationTime"], reverse=(_query(self, "sortOrder") or "Descending") == "Descending")
    limit = int(_query(self, "maxResults") or 1000)
    try:
        start = int(_query(self, "nextToken") or 0)
    except ValueError:
        raise Validation("Invalid nextToken.")
    body = {key: [_public({f: r.get(f) for f in summary_fields}) for r in records[start:start + limit]]}
    if start + limit < len(records):
        body["nextToken"] = str(start + limit)
    return json.dumps(body)


def list_model_import_jobs(self) -> str:
    backend = self.bedrock_backend
    with _lock:
        _resolve_all(backend)
        jobs, _, _ = _imports(backend)
        status = _query(self, "statusEquals")
        records = [j for j in jobs.values() if not status or j["status"] == status]
        return _page(self, records, "modelImportJobSummaries", (
            "jobArn", "jobName", "status", "lastModifiedTime", "creationTime", "endTime",
            "importedModelArn", "importedModelName"), "jobName")


def get_imported_model(self) -> str:
    backend = self.bedrock_backend
    with _lock:
        _resolve_all(backend)
        return json.dumps(_public(_find_model(backend, _path_identifier(self, "imported-models"))))


def list_imported_models(self) -> str:
    backend = self.bedrock_backend
    with _lock:
        _resolve_all(backend)
        _, models, _ = _imports(backend)
        return _page(self, list(models.values()), "modelSummaries", (
            "modelArn", "modelName", "creationTime", "instructSupported", "modelArchitecture"), "modelName")


def delete_imported_model(self) -> str:
    backend = self.bedrock_backend
    with _lock:
        _resolve_all(backend)
        model = _find_model(backend, _path_identifier(self, "imported-models"))
        _imports(backend)[1].pop(model["modelArn"], None)
    backend.tagger.delete_all_tags_for_resource(model["modelArn"])
    return "{}"


_original_list_arns = bedrock_models.BedrockBackend._list_arns


def _list_arns(self) -> list[str]:
    _resolve_all(self)
    jobs, models, _ = _imports(self)
    return (_original_list_arns(self) + [p["inferenceProfileArn"] for p in list(_state(self).values())]
            + list(jobs) + list(models))


def apply() -> None:
    BedrockResponse.create_inference_profile = create_inference_profile
    BedrockResponse.get_inference_profile = get_inference_profile
    BedrockResponse.list_inference_profiles = list_inference_profiles
    BedrockResponse.delete_inference_profile = delete_inference_profile
    BedrockResponse.create_model_import_job = create_model_import_job
    BedrockResponse.get_model_import_job = get_model_import_job
    BedrockResponse.list_model_import_jobs = list_model_import_jobs
    BedrockResponse.get_imported_model = get_imported_model
    BedrockResponse.list_imported_models = list_imported_models
    BedrockResponse.delete_imported_model = delete_imported_model
    bedrock_models.BedrockBackend._list_arns = _list_arns
