"""End-to-end: the lifecycle watch, the usage export and invocation logging on a deployed hub.

Skipped unless GENAI_HUB_E2E_STACK names a deployed stack and AWS credentials work. Run:
GENAI_HUB_E2E_STACK=genai-hub pytest tests/e2e -m aws
"""
import json
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.aws


def _invoke(deployed, output: str, payload: dict) -> dict:
    answer = deployed.client("lambda").invoke(FunctionName=deployed.outputs[output], Payload=json.dumps(payload).encode())
    result = json.loads(answer["Payload"].read())
    assert not answer.get("FunctionError"), result
    return result


def test_the_lifecycle_watch_reads_every_models_lifecycle(deployed):
    result = _invoke(deployed, "LifecycleWatchFunctionName", {"requested_by": "e2e-test"})
    assert result["models_checked"] > 0  # Bedrock lists foundation models with their lifecycle


def test_yesterdays_usage_is_exported_in_the_glue_tables_columns(deployed):
    from genai_hub.usage_export import EXPORT_COLUMNS

    day = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
    result = _invoke(deployed, "UsageExportFunctionName", {"requested_by": "e2e-test", "date": day})
    body = deployed.client("s3").get_object(Bucket=deployed.outputs["UsageExportBucketName"], Key=result["key"])["Body"].read()
    for line in body.decode().splitlines():
        assert list(json.loads(line)) == [name for name, _ in EXPORT_COLUMNS]


def test_invocation_logging_sends_to_the_hubs_bucket_after_a_budget_run(deployed):
    logging = deployed.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig") or {}
    if not logging:
        pytest.skip("no budget run yet since the deployment: it sets the account's invocation logging")
    assert logging["s3Config"]["bucketName"] == deployed.outputs["InvocationLogBucketName"]
