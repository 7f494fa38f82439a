"""Evaluation and promotion: the logic of each step of statemachines/evaluation.asl.json.

ModelImported starts it. The version (IMPORTED -> EVALUATING, once: a duplicate event finds it
EVALUATING and changes nothing) is run against its evaluation policy's dataset, scored
(genai_hub.metrics), gated on the policy's thresholds and, where the policy says so, on a human
decision; then granted to the requested tenants that are ACTIVE and whose data residency admits
the Region the imported model lives in. Audited on the model's stream and each granted tenant's.

Prompts, references and model outputs stay in the evaluation bucket under the run's prefix
(`run_prefix`): the items the run evaluates (one snapshot of the dataset) and one object per
answered item. The execution's state carries only item positions and error names, so no dataset
size or answer length can reach Step Functions' 256 KiB payload quota, and neither the state, the
stored result, the audit trail nor the logs hold a prompt or an output.
"""
import json
import time
from pathlib import Path

from genai_hub import audit, aws, config, metrics, registry, rejections, residency, retirement, schemas
from genai_hub.errors import InvalidInput, ModelNotReady, ModelThrottled, PolicyNotFound, VersionNotReady, caught, rejected_field
from genai_hub.idempotency import idempotent_step

WORKFLOW = "evaluation"
_POLICIES = Path(__file__).parent / "data" / "evaluation_policies"


def load_policy(name: str | None) -> dict:
    path = _POLICIES / f"{name or 'default'}.json"
    if not path.is_file():
        raise PolicyNotFound(f"evaluation policy {name!r} not found (known: {', '.join(sorted(p.stem for p in _POLICIES.glob('*.json')))})")
    return schemas.validate_document("evaluation-policy", json.loads(path.read_text()), source=path.name)


def _audit(model: dict, step: dict, action: str, outcome: str = "SUCCEEDED", actor: str = "genai-hub", **detail) -> None:
    audit.append(audit.model_stream(model["model_name"]), action=action, outcome=outcome, workflow=WORKFLOW,
                 execution=step["context"]["execution"], actor=actor, detail={"version": model["version"], **detail})


def _transition(model: dict, to: str, allowed_from: tuple[str, ...], fields: dict | None = None) -> None:
    """Move the version's status, only from the states given (conditional write)."""
    try:
        registry.update_item(
            registry.version_key(model["model_name"], model["version"]), {"status": to, **(fields or {})},
            condition=f"#status IN ({', '.join(f':from{i}' for i in range(len(allowed_from)))})",
            names={"#status": "status"}, values={f":from{i}": s for i, s in enumerate(allowed_from)},
        )
    except Exception as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            raise VersionNotReady(f"{model['model_id']} is not {' or '.join(allowed_from)}: nothing to do") from None
        raise


def _read_dataset(uri: str, limit: int) -> list[dict]:
    bucket, key = (uri[5:].split("/", 1) if uri.startswith("s3://") else (config.evaluation_bucket(), uri))
    try:
        body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except Exception as exc:
        if aws.error_code(exc) in ("NoSuchKey", "NoSuchBucket"):
            raise InvalidInput(f"dataset s3://{bucket}/{key} not found", field="$.dataset") from None
        raise
    items = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InvalidInput(f"dataset line {number}: not valid JSON", field="$.dataset") from None
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not isinstance(row.get("reference"), str):
            raise InvalidInput(f"dataset line {number}: expected prompt and reference strings", field="$.dataset")
        items.append({"id": str(row.get("id", number)), "prompt": row["prompt"], "reference": row["reference"],
                      "tags": row.get("tags", [])})
        if len(items) >= limit:
            break
    if not items:
        raise InvalidInput(f"dataset s3://{bucket}/{key} has no items", field="$.dataset")
    return items


def run_prefix(model: dict, execution: str) -> str:
    """Where one evaluation run keeps its items and outputs in the evaluation bucket: next to its
    result (`<prefix>.json`), one run per execution, so a retried step finds its own objects."""
    return f"evaluations/{model['model_name']}/{model['version']}/{execution.rsplit(':', 1)[-1]}"


def _put_json(key: str, document) -> None:
    aws.client("s3").put_object(Bucket=config.evaluation_bucket(), Key=key, ContentType="application/json",
                                Body=json.dumps(document).encode())


def _get_json(key: str):
    return json.loads(aws.client("s3").get_object(Bucket=config.evaluation_bucket(), Key=key)["Body"].read())


def _output_key(run: str, position: int) -> str:
    return f"{run}/outputs/{position}.json"


@idempotent_step
def start_evaluation(step: dict) -> dict:
    """Validate ModelImported, take the version IMPORTED -> EVALUATING, load policy and dataset; the
    items go to the run's prefix, their positions to the state."""
    model = schemas.validate_detail("ModelImported", rejections.event_of(step).get("detail"))
    version = registry.get_item(registry.version_key(model["model_name"], model["version"])) or {}
    policy = load_policy(model.get("evaluation_policy") or version.get("evaluation_policy"))
    items = _read_dataset(policy["dataset"], policy["max_items"])
    api = inference_api(model["imported_model_arn"])
    if version.get("status") != "IMPORTED":  # a duplicate ModelImported: no copy of the dataset for it
        raise VersionNotReady(f"{model['model_id']} is {version.get('status') or 'not registered'}, not IMPORTED: nothing to do")
    run = run_prefix(model, step["context"]["execution"])
    # Before the transition: if this write fails, the retried step still finds the version IMPORTED.
    _put_json(f"{run}/items.json", items)
    _transition(model, "EVALUATING", ("IMPORTED",), {"evaluation_execution": step["context"]["execution"]})
    _audit(model, step, "StartEvaluation", policy=policy["name"], dataset=policy["dataset"], items=len(items), api=api)
    return {"model": {**{k: model[k] for k in ("model_name", "version", "model_id", "imported_model_arn", "requested_tenants")},
                      "api": api},
            "policy": policy, "run": run, "items": list(range(len(items)))}


def inference_api(imported_model_arn: str) -> str:
    """"converse" when the imported model supports the Converse API (GetImportedModel.instructSupported),
    else "invoke": InvokeModel with the model's native body. Converse is not supported for some
    architectures the import accepts (Qwen2.5, Qwen2-VL, Qwen2.5-VL, GPT-OSS: Bedrock user guide,
    "Invoke your imported model", https://docs.aws.amazon.com/bedrock/latest/userguide/invoke-imported-model.html)."""
    model = aws.client("bedrock", region=model_region(imported_model_arn)).get_imported_model(modelIdentifier=imported_model_arn)
    return "converse" if model.get("instructSupported", True) else "invoke"


def _generate(model_arn: str, api: str, prompt: str, inference: dict) -> tuple[str, float | None]:
    """(the model's answer, its latency in ms when the API reports it) by Converse or InvokeModel."""
    runtime = aws.client("bedrock-runtime")
    if api == "converse":
        response = runtime.converse(
            modelId=model_arn, messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": inference["max_tokens"], "temperature": inference["temperature"]})
        return "".join(c.get("text", "") for c in response["output"]["message"]["content"]), response.get("metrics", {}).get("latencyMs")
    # The completion body imported models take (the "BedrockCompletion" format of Custom Model Import).
    body = json.dumps({"prompt": prompt, "max_tokens": inference["max_tokens"], "temperature": inference["temperature"]})
    response = runtime.invoke_model(modelId=model_arn, body=body, contentType="application/json", accept="application/json")
    payload = json.loads(response["body"].read())
    choices = payload.get("choices") or payload.get("outputs") or [{}]
    text = payload.get("generation") if "generation" in payload else choices[0].get("text", "")
    return text or "", None


def invoke_prompt(step: dict) -> dict:
    """The item at `position` of the run against the imported model; its answer goes to the run's
    prefix, and only its position and error name back to the state. A throttle or a model still
    loading is retried by the state machine, never scored. A retried iteration writes the same key:
    the last attempt, the one the Map records, is the one scored."""
    run, position, inference = step["run"], step["position"], step["inference"]
    item = _get_json(f"{run}/items.json")[position]
    started = time.perf_counter()
    try:
        text, reported = _generate(step["model_arn"], step.get("api", "converse"), item["prompt"], inference)
    except Exception as exc:
        code = aws.error_code(exc)
        if code in ("ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException"):
            raise ModelThrottled(f"{code} on item {item['id']}") from None
        if code == "ModelNotReadyException":
            raise ModelNotReady(f"{code} on item {item['id']}: the model is being loaded") from None
        return {"position": position, "error": code or type(exc).__name__}
    latency = reported or (time.perf_counter() - started) * 1000
    _put_json(_output_key(run, position), {"id": item["id"], "output": text, "latency_ms": latency})
    return {"position": position, "error": None}


def _scoring_items(run: str, results: list[dict]) -> list[dict]:
    """Every item of the run with its output (read back from the run's prefix) or its error: the
    Map's error for an item that failed, NoResult for one the Map has no result for."""
    by_position = {r["position"]: r for r in results}
    items = []
    for position, item in enumerate(_get_json(f"{run}/items.json")):
        result = by_position.get(position)
        if result is None or result.get("error"):
            items.append({**item, "output": None, "latency_ms": None, "error": result["error"] if result else "NoResult"})
            continue
        answered = _get_json(_output_key(run, position))  # written before the iteration reported success
        items.append({**item, "output": answered["output"], "latency_ms": answered["latency_ms"], "error": None})
    return items


@idempotent_step
def score_evaluation(step: dict) -> dict:
    """Score every item, store the full result in S3 and its summary in the registry, gate."""
    model, policy, run = step["evaluation"]["model"], step["evaluation"]["policy"], step["evaluation"]["run"]
    result = metrics.score_items(_scoring_items(run, step["outputs"]), policy)
    key = f"{run}.json"
    aws.client("s3").put_object(Bucket=config.evaluation_bucket(), Key=key, ContentType="application/json",
                                Body=json.dumps({"model_id": model["model_id"], "policy": policy["name"], **result}, indent=1).encode())
    summary = {"policy": policy["name"], "aggregate": result["aggregate"], "passed": result["gate"]["passed"],
               "failures": result["gate"]["failures"], "result_uri": f"s3://{config.evaluation_bucket()}/{key}",
               "evaluated_at": registry.now()}
    registry.update_item(registry.version_key(model["model_name"], model["version"]), {"evaluation": json.loads(json.dumps(summary), parse_float=str)})
    _audit(model, step, "EvaluateModel", outcome="PASSED" if summary["passed"] else "FAILED",
           policy=policy["name"], aggregate=result["aggregate"], failures=result["gate"]["failures"], result_uri=summary["result_uri"])
    return {**summary, "approval_required": policy["human_approval"]["required"],
            "approval_timeout_seconds": policy["human_approval"]["timeout_seconds"]}


def approval_key(model_name: str, version: str) -> dict:
    return {"pk": f"MODEL#{model_name}", "sk": f"APPROVAL#{version}"}


@idempotent_step
def request_approval(step: dict) -> dict:
    """AWAITING_APPROVAL; the task token waits in the registry for `hubctl approve|reject`."""
    model, scored = step["evaluation"]["model"], step["scored"]
    _transition(model, "AWAITING_APPROVAL", ("EVALUATING",))
    registry.put_items([{**approval_key(model["model_name"], model["version"]), "kind": "approval", "task_token": step["token"],
                         "execution": step["context"]["execution"], "requested_at": registry.now(),
                         "expires_in_seconds": scored["approval_timeout_seconds"]}])
    _audit(model, step, "RequestApproval", outcome="PENDING", notify=step["evaluation"]["policy"]["notify"],
           timeout_seconds=scored["approval_timeout_seconds"])
    return {"requested": True}


def _decision(step: dict) -> tuple[str, str]:
    """(who, why) of a rejection: thresholds, a person (SendTaskFailure cause) or the approval timeout."""
    error = step.get("error")
    if not error:
        failures = step["scored"]["failures"]
        return "genai-hub", "thresholds not met: " + "; ".join(
            f"{f['metric']} {f['value']} {'<' if f['op'] == 'min' else '>'} {f['threshold']}" for f in failures)
    name, message = caught(error)
    if name == "States.Timeout":
        return "genai-hub", f"approval expired after {step['scored']['approval_timeout_seconds']} s without a decision"
    try:
        cause = json.loads(error.get("Cause") or "{}")
        return str(cause.get("approver", "unknown"))[:256], str(cause.get("reason", message))[:1000]
    except ValueError:
        return "unknown", message


@idempotent_step
def reject_version(step: dict) -> dict:
    model = step["evaluation"]["model"]
    who, why = _decision(step)
    _transition(model, "REJECTED", ("EVALUATING", "AWAITING_APPROVAL"), {"rejected_by": who, "rejection_reason": why})
    aws.client("dynamodb").delete_item(TableName=config.registry_table(),
                                       Key=registry.to_item(approval_key(model["model_name"], model["version"])))
    _audit(model, step, "RejectVersion", outcome="REJECTED", actor=who, reason=why)
    return {"model_name": model["model_name"], "version": model["version"], "model_id": model["model_id"],
            "reason": why, "rejected_by": who, "failures": step["scored"].get("failures", []),
            "execution": step["context"]["execution"]}


def model_region(imported_model_arn: str) -> str:
    return imported_model_arn.split(":")[3]


def grant_decision(tenant: dict | None, region: str) -> str | None:
    """None when the tenant may get the model; otherwise why not."""
    if tenant is None:
        return "not a tenant"
    if tenant.get("status") != "ACTIVE":
        return f"tenant is {tenant.get('status')}, not ACTIVE"
    if not residency.region_allowed(region, tenant["data_residency"], tenant.get("allow_global_inference", False)):
        return f"model runs in {region}, outside data residency {tenant['data_residency']!r}"
    return None


@idempotent_step
def promote_version(step: dict) -> dict:
    """APPROVED, and a grant for each requested tenant that is ACTIVE and whose residency admits the model."""
    model, approval = step["evaluation"]["model"], step.get("approval") or {}
    approver = str(approval.get("approver", "policy: no approval required"))[:256]
    _transition(model, "APPROVED", ("EVALUATING", "AWAITING_APPROVAL"), {"approved_by": approver, "approved_at": registry.now()})
    region = model_region(model["imported_model_arn"])
    granted, skipped = [], []
    for tenant_id in model["requested_tenants"]:
        try:
            tenant = registry.get_tenant(tenant_id)
        except Exception:
            tenant = None
        reason = grant_decision(tenant, region)
        retired = None if reason else retirement.blocking(model["model_id"], tenant_id)
        if retired:
            reason = f"retiring or retired for this tenant (retirement {retired['retirement_id']})"
        if reason:
            skipped.append({"tenant_id": tenant_id, "reason": reason})
            continue
        registry.put_items([{
            "pk": registry.tenant_pk(tenant_id), "sk": f"GRANT#{model['model_id']}", "kind": "imported-model-grant",
            "gsi1pk": f"MODEL#{model['model_id']}", "gsi1sk": registry.tenant_pk(tenant_id), "tenant_id": tenant_id,
            "model_id": model["model_id"], "invoke_arn": model["imported_model_arn"], "region": region,
            "granted_at": registry.now(), "approved_by": approver, "execution": step["context"]["execution"],
        }])
        audit.append(audit.tenant_stream(tenant_id), action="GrantModel", outcome="SUCCEEDED", workflow=WORKFLOW,
                     execution=step["context"]["execution"], actor=approver,
                     detail={"model_id": model["model_id"], "invoke_arn": model["imported_model_arn"]})
        granted.append(tenant_id)
    aws.client("dynamodb").delete_item(TableName=config.registry_table(),
                                       Key=registry.to_item(approval_key(model["model_name"], model["version"])))
    _audit(model, step, "PromoteVersion", outcome="APPROVED", actor=approver, granted=granted, skipped=skipped)
    return {"model_name": model["model_name"], "version": model["version"], "model_id": model["model_id"],
            "imported_model_arn": model["imported_model_arn"], "approved_by": approver, "granted": granted,
            "skipped": skipped, "execution": step["context"]["execution"]}


@idempotent_step
def record_rejection(step: dict) -> dict:
    """Audit a ModelImported event that cannot be evaluated as sent (schema, policy, dataset)."""
    event, execution = rejections.event_of(step), step["context"]["execution"]
    name, message = caught(step["error"])
    detail = rejections.detail_of(event)
    stream = audit.model_stream(detail["model_name"]) if isinstance(detail.get("model_name"), str) and detail["model_name"].replace("-", "").isalnum() else f"rejected#{WORKFLOW}"
    audit.append(stream, action="RejectEvaluationInput", outcome="REJECTED", workflow=WORKFLOW, execution=execution,
                 detail={"error": name, "reason": message, "event_id": str(event.get("id", ""))[:256]})
    return rejections.workflow_input_rejected(WORKFLOW, event, rejected_field(message), message, execution)