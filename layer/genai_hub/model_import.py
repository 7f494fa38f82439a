"""Cross-account model import: the logic of each step of statemachines/model_import.asl.json.

A research team drops Hugging Face artifacts in its own bucket and writes `import.json` last;
S3 -> EventBridge forwards that event to the hub bus. The hub reads the drop through its import
role (the very role Bedrock will use), checks it, verifies the research account's grants, registers
the version, waits for Bedrock's single import slot, runs the import job and records the result.
Every step that changes something audits on the model's stream `model#<name>`.

Who submitted a version, as AWS verified it: the research bucket policy refuses an import.json
whose tag `genai-hub-submitted-by` is not the uploader's own aws:userid (spokes/research.yaml,
DenyManifestWithoutVerifiedSubmitter), so the tag read back through the import role is the
submitter (`submitter`), beside the manifest's typed claim `submitted_by`.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""
import hashlib
import json
import time
from datetime import datetime, timezone

from genai_hub import artifacts, audit, aws, config, grants, registry, rejections, schemas
from genai_hub.decisions import person_of  # four-eyes compares people one way, submitter and approver alike
from genai_hub.errors import ArtifactMissing, InvalidInput, PolicyDeniesImportRole, caught, rejected_field
from genai_hub.idempotency import idempotent_step

WORKFLOW = "model-import"
MANIFEST = "import.json"
SUBMITTER_TAG = "genai-hub-submitted-by"
_DENIED = ("AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException")


def _denied(where: str) -> PolicyDeniesImportRole:
    # On AWS a missing grant shows up here first, as the hub reads the drop through the import role.
    return PolicyDeniesImportRole(
        f"the import role {config.model_import_role_arn()} cannot read {where}: check the research bucket policy "
        "(s3:GetObject, s3:GetObjectTagging, s3:ListBucket) and key policy (kms:Decrypt) grants"
    )


def _credentials(role_arn: str, session: str, external_id: str | None = None) -> dict:
    kwargs = {"RoleArn": role_arn, "RoleSessionName": session[:64], "DurationSeconds": 900}
    if external_id:
        kwargs["ExternalId"] = external_id
    return aws.client("sts").assume_role(**kwargs)["Credentials"]


class S3Reader:
    """artifacts.Reader over one S3 prefix, with the import role's credentials. `versions` holds the
    version id of each object last read whole or whose tags were read (None: unversioned)."""

    def __init__(self, s3, bucket: str, prefix: str):
        self.s3, self.bucket, self.prefix = s3, bucket, prefix
        self.versions: dict[str, str | None] = {}

    def list(self) -> dict[str, int]:
        found = {}
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for obj in page.get("Contents", []):
                    found[obj["Key"][len(self.prefix):]] = obj["Size"]
        except Exception as exc:
            if aws.error_code(exc) in _DENIED:
                raise _denied(f"s3://{self.bucket}/{self.prefix} (list)") from None
            raise
        return found

    def read(self, name: str, start: int = 0, end: int | None = None) -> bytes:
        kwargs = {"Bucket": self.bucket, "Key": self.prefix + name}
        if end is not None:
            kwargs["Range"] = f"bytes={start}-{end}"
        try:
            found = self.s3.get_object(**kwargs)
        except Exception as exc:
            raise self._error(exc, name) from None
        if end is None:
            self.versions[name] = found.get("VersionId")
        return found["Body"].read()

    def tags(self, name: str) -> dict[str, str]:
        """The object's tags (GetObjectTagging), with read's errors."""
        try:
            found = self.s3.get_object_tagging(Bucket=self.bucket, Key=self.prefix + name)
        except Exception as exc:
            raise self._error(exc, name, "tags") from None
        self.versions[name] = found.get("VersionId")
        return {t["Key"]: t["Value"] for t in found.get("TagSet", [])}

    def _error(self, exc: Exception, name: str, what: str = "") -> Exception:
        if aws.error_code(exc) in ("NoSuchKey", "404"):
            return ArtifactMissing(f"{name} is missing from s3://{self.bucket}/{self.prefix}")
        if aws.error_code(exc) in _DENIED:
            return _denied(f"s3://{self.bucket}/{self.prefix}{name}" + (f" ({what})" if what else ""))
        return exc


def _reader(location: dict, session: str) -> S3Reader:
    s3 = aws.client("s3", region=config.research_region(), credentials=_credentials(config.model_import_role_arn(), session))
    return S3Reader(s3, location["bucket"], location["prefix"])


# --- trigger and manifest --------------------------------------------------------------------

def drop_location(event: dict) -> dict:
    """{bucket, prefix, key, s3_uri} of the drop an event points at (S3 Object Created or ModelImportRequested)."""
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(detail, dict):
        raise InvalidInput("$.detail: expected an object", field="$.detail")
    if event.get("detail-type") == "Object Created":
        if str(event.get("account")) != config.research_account_id():
            raise InvalidInput(f"$.account: drops are accepted from the research account {config.research_account_id()} only",
                               field="$.account")
        bucket, key = (detail.get("bucket") or {}).get("name"), (detail.get("object") or {}).get("key")
    elif event.get("detail-type") == "ModelImportRequested":
        schemas.validate_detail("ModelImportRequested", detail)
        bucket, key = detail["bucket"], detail["prefix"].rstrip("/") + "/" + MANIFEST
    else:
        raise InvalidInput(f"$.detail-type: {event.get('detail-type')!r} does not start a model import", field="$.detail-type")
    if not isinstance(bucket, str) or not isinstance(key, str) or not key.endswith("/" + MANIFEST):
        raise InvalidInput(f"$.detail: expected an object key ending in /{MANIFEST}", field="$.detail.object.key")
    prefix = key[: -len(MANIFEST)]
    return {"bucket": bucket, "prefix": prefix, "key": key, "s3_uri": f"s3://{bucket}/{prefix}"}


def submitter_of(user_id: str | None) -> dict | None:
    """{user_id, account, person} of a verified aws:userid: a role session "AROA...:<session
    name>" is the person its session names (an IAM Identity Center user's is their user name), an
    IAM user "AIDA..." and the root (the account id) are their id. None without a tag (a drop
    written before its spoke required one, imported again by hand).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"""
    if not user_id:
        return None
    return {"user_id": user_id, "account": config.research_account_id(), "person": person_of(user_id)}


def _read_manifest_and_submitter(reader: S3Reader) -> tuple[bytes, str | None]:
    """import.json and its submitter tag, of one version of it: a manifest written again between the
    two reads is read again (that upload's own event imports it too)."""
    for _ in range(3):
        user_id = reader.tags(MANIFEST).get(SUBMITTER_TAG)
        tagged = reader.versions.get(MANIFEST)
        raw = reader.read(MANIFEST)
        if reader.versions.get(MANIFEST) == tagged:
            return raw, user_id
    raise InvalidInput(f"s3://{reader.bucket}/{reader.prefix}{MANIFEST}: rewritten while it was read; its latest upload "
                       "starts its own import", field="$")


def read_manifest(step: dict) -> dict:
    """The drop's location, its validated import.json and who submitted it as AWS verified it (the
    manifest's tag, read through the import role)."""
    location = drop_location(step["event"])
    raw, user_id = _read_manifest_and_submitter(_reader(location, "read-manifest"))
    source = f"s3://{location['bucket']}/{location['key']}"
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"{source}: not valid JSON ({exc})", field="$") from None
    manifest = schemas.validate_document("import-manifest", document, source=source)
    return {"manifest": manifest, "location": location, "model_id": f"{manifest['model_name']}:{manifest['version']}",
            "submitter": submitter_of(user_id)}


@idempotent_step
def record_rejection(step: dict) -> dict:
    """Audit a drop or request that cannot be imported as sent; returns the WorkflowInputRejected detail."""
    event, execution = rejections.event_of(step), step["context"]["execution"]
    name, message = caught(step["error"])
    detail = rejections.detail_of(event)
    audit.append(
        f"rejected#{WORKFLOW}", action="RejectImport", outcome="REJECTED", workflow=WORKFLOW, execution=execution,
        actor=str(detail.get("requested_by", "research-drop"))[:256] if detail else "unknown",
        detail={"error": name, "reason": message, "event_id": str(event.get("id", ""))[:256]},
    )
    return rejections.workflow_input_rejected(WORKFLOW, event, rejected_field(message), message, execution)


# --- checks ----------------------------------------------------------------------------------

def check_artifacts(step: dict) -> dict:
    """config.json, tokenizer, safetensors headers, size: the first problem names the file."""
    return artifacts.check_drop(_reader(step["drop"]["location"], "check-artifacts")).as_dict()


def _kms_key_arn(s3, bucket: str, kms) -> str | None:
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except Exception as exc:
        if aws.error_code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
            return None
        raise
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and default.get("KMSMasterKeyID"):
            return kms.describe_key(KeyId=default["KMSMasterKeyID"])["KeyMetadata"]["Arn"]
    return None


def verify_grants(step: dict) -> dict:
    """Read the research bucket and key policies (through the grants-reader role there) and check them."""
    location = step["drop"]["location"]
    account = config.research_account_id()
    reader_arn = f"arn:aws:iam::{account}:role/{config.grants_reader_role_name()}"
    credentials = _credentials(reader_arn, "verify-grants", external_id=config.research_external_id())
    # The bucket and its key live in the research account's Region, which may not be the hub's.
    region = config.research_region()
    s3, kms = aws.client("s3", region=region, credentials=credentials), aws.client("kms", region=region, credentials=credentials)
    try:
        bucket_policy = json.loads(s3.get_bucket_policy(Bucket=location["bucket"])["Policy"])
    except Exception as exc:
        if aws.error_code(exc) != "NoSuchBucketPolicy":
            raise
        bucket_policy = None
    key_arn = _kms_key_arn(s3, location["bucket"], kms)
    key_policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]) if key_arn else None
    found = grants.problems(bucket_policy, key_policy, role_arn=config.model_import_role_arn(), bucket=location["bucket"], key_arn=key_arn)
    if found:
        raise PolicyDeniesImportRole("; ".join(found))
    return {"bucket": location["bucket"], "key_arn": key_arn}


# --- registry, slot, job ---------------------------------------------------------------------

def _audit(step: dict, action: str, outcome: str = "SUCCEEDED", **detail) -> None:
    manifest = step["drop"]["manifest"]
    audit.append(
        audit.model_stream(manifest["model_name"]), action=action, outcome=outcome, workflow=WORKFLOW,
        execution=step["context"]["execution"], actor=manifest["submitted_by"],
        detail={"version": manifest["version"], **detail},
    )


def _version_key(manifest: dict) -> dict:
    return registry.version_key(manifest["model_name"], manifest["version"])


def _put_version(item: dict, condition: str, values: dict) -> bool:
    """Conditional put of a version record (#st is its status); False when the condition does not hold."""
    try:
        aws.client("dynamodb").put_item(
            TableName=config.registry_table(), Item=registry.to_item(item), ConditionExpression=condition,
            ExpressionAttributeNames={"#st": "status"}, ExpressionAttributeValues=registry.to_item(values),
        )
        return True
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise


class VersionExists(Exception):
    """The version is registered already (IMPORTING or IMPORTED): a duplicate drop changes nothing."""


@idempotent_step
def register_version(step: dict) -> dict:
    """IMPORTING with its lineage and verified submitter (`submitter`, None for an untagged drop,
    beside the manifest's claim `submitted_by`); a version that exists (and did not fail) is never
    imported twice."""
    drop, execution = step["drop"], step["context"]["execution"]
    manifest = drop["manifest"]
    item = {
        **_version_key(manifest), "kind": "model-version", "model_name": manifest["model_name"], "version": manifest["version"],
        "status": "IMPORTING", "base_model": manifest["base_model"], "lineage": manifest["lineage"],
        "requested_tenants": manifest["requested_tenants"], "evaluation_policy": manifest.get("evaluation_policy"),
        "submitted_by": manifest["submitted_by"], "submitter": drop.get("submitter"), "artifacts": drop["location"]["s3_uri"],
        "checks": step["checks"], "execution": execution, "created_at": registry.now(), "updated_at": registry.now(),
    }
    if not _put_version(item, "attribute_not_exists(pk) OR #st = :failed", {":failed": "FAILED"}):
        raise VersionExists(f"{drop['model_id']} is registered already: a duplicate drop is not imported twice")
    _audit(step, "RegisterVersion", status="IMPORTING", artifacts=drop["location"]["s3_uri"], base_model=manifest["base_model"],
           lineage=manifest["lineage"], checks=step["checks"], submitter=drop.get("submitter"))
    return {"status": "IMPORTING"}


def _slot_key() -> dict:
    return {"pk": f"IMPORT_SLOT#{config.region()}", "sk": "SLOT"}


def acquire_import_slot(step: dict) -> dict:
    """Bedrock runs one import job per Region at a time: take the slot, or report that it is busy."""
    execution, (_, _, deadline) = step["context"]["execution"], config.import_poll()
    now = int(time.time())
    try:
        aws.client("dynamodb").put_item(
            TableName=config.registry_table(),
            Item=registry.to_item({**_slot_key(), "holder": execution, "model_id": step["drop"]["model_id"],
                                   "expires_at": now + deadline + 600}),
            # A holder that died (execution aborted) frees the slot when its lease expires.
            ConditionExpression="attribute_not_exists(pk) OR holder = :me OR expires_at < :now",
            ExpressionAttributeValues={":me": {"S": execution}, ":now": {"N": str(now)}},
        )
        return {"acquired": True, "wait_seconds": 0}
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return {"acquired": False, "wait_seconds": config.import_slot_wait()}
        raise


def release_import_slot(execution: str) -> None:
    try:
        aws.client("dynamodb").delete_item(
            TableName=config.registry_table(), Key=registry.to_item(_slot_key()),
            ConditionExpression="holder = :me", ExpressionAttributeValues={":me": {"S": execution}},
        )
    except Exception as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise


def _names(manifest: dict, execution: str) -> tuple[str, str, str]:
    version = manifest["version"].replace(".", "-")
    digest = hashlib.sha256(f"{manifest['model_name']}:{manifest['version']}|{execution}".encode()).hexdigest()
    return f"{manifest['model_name']}-{version}-{digest[:8]}", f"{manifest['model_name']}-{version}", digest[:64]


@idempotent_step
def create_import_job(step: dict) -> dict:
    """CreateModelImportJob with a token derived from the version and execution: a retry never makes two jobs."""
    drop, execution = step["drop"], step["context"]["execution"]
    manifest = drop["manifest"]
    job_name, model_name, token = _names(manifest, execution)
    job_arn = aws.client("bedrock").create_model_import_job(
        jobName=job_name, importedModelName=model_name, roleArn=config.model_import_role_arn(),
        modelDataSource={"s3DataSource": {"s3Uri": drop["location"]["s3_uri"]}}, clientRequestToken=token,
        jobTags=[{"key": "genai-hub:model", "value": manifest["model_name"]}, {"key": "genai-hub:version", "value": manifest["version"]}],
        importedModelTags=[{"key": "genai-hub:model", "value": manifest["model_name"]},
                           {"key": "genai-hub:version", "value": manifest["version"]}],
    )["jobArn"]
    registry.update_item(_version_key(manifest), {"import_job_arn": job_arn})
    _audit(step, "CreateImportJob", job_arn=job_arn, imported_model_name=model_name)
    first_wait, _, _ = config.import_poll()
    return {"job_arn": job_arn, "started_at": int(time.time()), "wait_seconds": first_wait}


def check_import_job(step: dict) -> dict:
    """One poll: the job's status, the next (longer) wait, and whether the deadline has passed."""
    job = step["job"]
    _, longest, deadline = config.import_poll()
    found = aws.client("bedrock").get_model_import_job(jobIdentifier=job["job_arn"])
    return {
        **job,
        "status": found["status"],
        "failure_message": found.get("failureMessage", ""),
        "imported_model_arn": found.get("importedModelArn", ""),
        "wait_seconds": min(job["wait_seconds"] * 2, longest),
        "deadline_reached": found["status"] == "InProgress" and time.time() - job["started_at"] > deadline,
        "polls": job.get("polls", 0) + 1,
    }


@idempotent_step
def mark_imported(step: dict) -> dict:
    drop, job, execution = step["drop"], step["job"], step["context"]["execution"]
    manifest = drop["manifest"]
    registry.update_item(_version_key(manifest), {"status": "IMPORTED", "imported_model_arn": job["imported_model_arn"],
                                                  "imported_at": registry.now()})
    release_import_slot(execution)
    _audit(step, "MarkImported", imported_model_arn=job["imported_model_arn"], job_arn=job["job_arn"], polls=job["polls"])
    return {
        "model_name": manifest["model_name"], "version": manifest["version"], "model_id": drop["model_id"],
        "imported_model_arn": job["imported_model_arn"], "architecture": step["checks"]["architecture"],
        "requested_tenants": manifest["requested_tenants"], "evaluation_policy": manifest.get("evaluation_policy"),
        "execution": execution,
    }


@idempotent_step
def mark_import_failed(step: dict) -> dict:
    """FAILED with the reason (a check, a grant, Bedrock's message or the deadline); slot released."""
    drop, execution = step["drop"], step["context"]["execution"]
    manifest = drop["manifest"]
    job = step.get("job") or {}
    if step.get("error"):
        error, reason = caught(step["error"])
    elif job.get("deadline_reached"):
        error, reason = "ImportDeadlineExceeded", f"import job {job['job_arn']} still InProgress after {config.import_poll()[2]} s"
    else:
        error, reason = "ImportJobFailed", f"Bedrock: {job.get('failure_message') or 'the import job failed'}"
    item = {**_version_key(manifest), "kind": "model-version", "model_name": manifest["model_name"], "version": manifest["version"],
            "status": "FAILED", "failure_error": error, "failure_reason": reason, "artifacts": drop["location"]["s3_uri"],
            "base_model": manifest["base_model"], "lineage": manifest["lineage"], "submitted_by": manifest["submitted_by"],
            "submitter": drop.get("submitter"), "execution": execution, "updated_at": registry.now()}
    if job.get("job_arn"):
        item["import_job_arn"] = job["job_arn"]
    # Only a version this execution registered, or one that failed before: a failed duplicate drop
    # never turns a version another execution imported (or evaluated, approved...) into FAILED.
    _put_version(item, "attribute_not_exists(pk) OR #st = :failed OR (#st = :importing AND execution = :me)",
                 {":failed": "FAILED", ":importing": "IMPORTING", ":me": execution})
    release_import_slot(execution)
    _audit(step, "FailImport", outcome="FAILED", error=error, reason=reason, job_arn=job.get("job_arn"))
    return {"model_name": manifest["model_name"], "version": manifest["version"], "model_id": drop["model_id"],
            "error": error, "reason": reason, "execution": execution}
