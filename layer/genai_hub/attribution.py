"""Imported models' usage attributed to tenants, from Bedrock's model invocation logs.

CloudWatch counts an imported model's usage per model, shared by every tenant granted it; a
profile's usage is its tenant's alone (genai_hub.metering reads profiles from CloudWatch: exact and
one GetMetricData call per 166 profiles). For imported models the hub reads the invocation logs,
which name the caller of each call as AWS verified it (`identity.arn`: the tenant-access role
session `<tenant>@<account>` the broker created, genai_hub.access.session_name), with its tokens.
`requestMetadata` would name a tenant too, but the caller sets it: it is never trusted for money.

Custom Model Import bills the active copies of a model per Custom Model Unit per minute, in 5-minute
windows ("Calculate the cost of running a custom model",
https://docs.aws.amazon.com/bedrock/latest/userguide/import-model-calculate-cost.html). So each
5-minute window in which a model answered costs CMUs per copy x 5 minutes x the CMU-minute price
(data/prices.json `imported_models.custom_model_unit_minute`; one copy: the hub does not read the
number of copies Bedrock scaled to), and each tenant's share is its share of the window's tokens.

Logging is an account-wide setting with no CloudFormation resource: `ensure_logging` (the budget
run's first step) points it at the hub's InvocationLogBucket when it is not set, and never
overwrites a configuration that sends elsewhere (it audits that imported models cannot be
attributed instead). PutModelInvocationLoggingConfiguration:
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_PutModelInvocationLoggingConfiguration.html
"""
import gzip
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from genai_hub import audit, aws, config, pricing, registry

WINDOW = timedelta(minutes=5)
PREFIX = "bedrock"  # the log bucket's key prefix
_SESSION = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/(?P<role>[^/]+)/(?P<session>[^/]+)$")


def wanted_configuration() -> dict:
    """Invocation logs to the hub's bucket, token counts only: no prompt or answer is delivered."""
    return {"s3Config": {"bucketName": config.invocation_log_bucket(), "keyPrefix": PREFIX}, "textDataDeliveryEnabled": False,
            "imageDataDeliveryEnabled": False, "embeddingDataDeliveryEnabled": False}


def ensure_logging(execution: str, requested_by: str) -> dict:
    """Point the account's invocation logging at the hub's bucket when nothing is configured; report it."""
    bedrock = aws.client("bedrock")
    current = bedrock.get_model_invocation_logging_configuration().get("loggingConfig") or {}
    bucket = (current.get("s3Config") or {}).get("bucketName")
    if bucket == config.invocation_log_bucket():
        return {"logging": "hub", "changed": False}
    if current:
        audit.append("hub#budget", action="InvocationLoggingElsewhere", outcome="SKIPPED", workflow="budget-alerts",
                     execution=execution, actor=requested_by,
                     detail={"configured": {"s3": bucket, "cloudwatch": bool(current.get("cloudWatchConfig"))},
                             "reason": "the account's invocation logging is configured elsewhere; the hub leaves it and cannot "
                                       "attribute imported-model usage until it sends to the hub's InvocationLogBucket"})
        return {"logging": "elsewhere", "changed": False}
    bedrock.put_model_invocation_logging_configuration(loggingConfig=wanted_configuration())
    audit.append("hub#budget", action="EnableInvocationLogging", outcome="SUCCEEDED", workflow="budget-alerts",
                 execution=execution, actor=requested_by, detail={"bucket": config.invocation_log_bucket(), "prefix": PREFIX})
    return {"logging": "hub", "changed": True}


def _hours(start: datetime, end: datetime):
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        yield hour
        hour += timedelta(hours=1)


def records(start: datetime, end: datetime, region: str) -> list[dict]:
    """Every invocation record of [start, end) in the hub's log bucket (one listing per hour)."""
    s3, bucket, account = aws.client("s3"), config.invocation_log_bucket(), config.tenant_access_role_arn().split(":")[4]
    found = []
    for hour in _hours(start, end):
        prefix = f"{PREFIX}/AWSLogs/{account}/BedrockModelInvocationLogs/{region}/{hour:%Y/%m/%d/%H}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                for line in gzip.decompress(body).decode().splitlines():
                    if line.strip():
                        entry = json.loads(line)
                        when = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
                        if start <= when < end:
                            found.append({**entry, "_at": when})
    return found


def tenant_of(entry: dict) -> str | None:
    """The tenant whose vended session made the call: the session name the broker set, on the hub's role."""
    match = _SESSION.match((entry.get("identity") or {}).get("arn", ""))
    if not match or match["role"] != config.tenant_access_role_arn().rsplit("/", 1)[-1]:
        return None
    return match["session"].split("@", 1)[0]


def _window(moment: datetime) -> datetime:
    return moment - timedelta(minutes=moment.minute % 5, seconds=moment.second, microseconds=moment.microsecond)


def _cmus(model_arn: str, cache: dict) -> Decimal:
    if model_arn not in cache:
        model = aws.client("bedrock", region=model_arn.split(":")[3]).get_imported_model(modelIdentifier=model_arn)
        cache[model_arn] = Decimal(str((model.get("customModelUnits") or {}).get("customModelUnitsPerModelCopy") or 1))
    return cache[model_arn]


def tenant_usage(tenant_id: str, start: datetime, end: datetime) -> dict[str, dict[str, tuple[pricing.Usage, Decimal]]]:
    """{day: {model_id: (usage, USD)}}: the tenant's calls of the imported models it holds over [start, end),
    and its token share of each 5-minute window's Custom Model Unit cost."""
    grants = {g["invoke_arn"]: g["model_id"] for g in registry.tenant_items(tenant_id, "GRANT#")
              if g.get("kind") == "imported-model-grant" and g.get("invoke_arn")}
    if not grants:
        return {}
    per_minute, cmus = pricing.custom_model_unit_minute(), {}
    windows: dict[tuple, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for region in sorted({arn.split(":")[3] for arn in grants}):
        for entry in records(start, end, region):
            if entry.get("modelId") not in grants:
                continue
            tenant = tenant_of(entry) or "(not a tenant)"
            used = windows[(entry["modelId"], _window(entry["_at"]))][tenant]
            used[0] += 1
            used[1] += int((entry.get("input") or {}).get("inputTokenCount", 0))
            used[2] += int((entry.get("output") or {}).get("outputTokenCount", 0))
    usage: dict[str, dict[str, tuple[pricing.Usage, Decimal]]] = {}
    for (model_arn, window), by_tenant in windows.items():
        mine = by_tenant.get(tenant_id)
        if not mine:
            continue
        total = sum(u[1] + u[2] for u in by_tenant.values())
        cost = _cmus(model_arn, cmus) * Decimal(WINDOW.seconds // 60) * per_minute
        share = (cost * (mine[1] + mine[2]) / total) if total else cost / len(by_tenant)
        day, model_id = window.date().isoformat(), grants[model_arn]
        before_usage, before_cost = usage.setdefault(day, {}).get(model_id, (pricing.Usage(), Decimal(0)))
        usage[day][model_id] = (before_usage + pricing.Usage(*mine), before_cost + share)
    return usage
