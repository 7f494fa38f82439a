"""Imported-model usage attributed to tenants (issue 20): Bedrock's invocation logs name each caller,
each 5-minute window's Custom Model Unit cost is shared by token share, and the shares count in the
tenants' budgets and the hub's."""
import gzip
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from conftest import audit_records, registry_items, sample
from test_budget import run
from test_evaluation import GOOD, _import, research  # noqa: F401 (research is a fixture)
from test_retirement import second_us_tenant

MODEL = "support-bot:1.0.0"
CMU_MINUTE, CMUS = Decimal("0.0785"), 1  # data/prices.json; the emulation's customModelUnitsPerModelCopy


def _ask(hub, tenant_id: str, account: str, words: int) -> int:
    """One Converse call of the tenant's application to the imported model; its tokens."""
    session = hub.tenant_session(tenant_id, account)
    arn = session.hub_models["imported_models"][MODEL]
    answer = session.client("bedrock-runtime").converse(
        modelId=arn, messages=[{"role": "user", "content": [{"text": " ".join(["forecast"] * words)}]}],
        requestMetadata={"tenant": "someone-else"})  # set by the caller: never what the hub attributes by
    return answer["usage"]["inputTokens"] + answer["usage"]["outputTokens"]


def test_imported_model_calls_of_two_tenants_in_one_window_are_shared_by_tokens_and_count_in_both_budgets(hub, onboard, research):
    from hubsim.patches.bedrock_runtime import simulated_now

    # Given acme-retail and corvid-labs (a 0.05 USD budget) granted support-bot 1.0.0
    onboard(sample("onboarding/acme-retail-us.json"))
    corvid = second_us_tenant()
    corvid["detail"]["budget"] = {"monthly_limit_usd": 0.05, "on_red": "suspend"}
    onboard(corvid)
    assert _import(hub, research, GOOD, policy="strict-support", tenants=["acme-retail", "corvid-labs"])["status"] == "APPROVED"
    # and a first budget run, which points the account's invocation logging at the hub's bucket
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert run(hub, as_of=yesterday.isoformat())["status"] == "SUCCEEDED"
    logging = hub.client("bedrock").get_model_invocation_logging_configuration()["loggingConfig"]
    assert logging["s3Config"]["bucketName"] == hub.outputs["InvocationLogBucketName"] and logging["textDataDeliveryEnabled"] is False

    # When both call it in the same 5-minute window, acme-retail three times as much
    with simulated_now(yesterday + timedelta(minutes=11)):
        acme_tokens = _ask(hub, "acme-retail", "222222222222", 300)
        corvid_tokens = _ask(hub, "corvid-labs", "555555555555", 100)
    done = run(hub, as_of=(yesterday + timedelta(hours=1)).isoformat())

    # Then Bedrock's log names each caller's verified session, with its tokens (and no prompt)
    assert done["status"] == "SUCCEEDED"
    s3 = hub.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=hub.outputs["InvocationLogBucketName"],
                                                 Prefix=f"bedrock/AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/{yesterday:%Y/%m/%d}/00/")["Contents"]]
    logged = [json.loads(gzip.decompress(s3.get_object(Bucket=hub.outputs["InvocationLogBucketName"], Key=k)["Body"].read())) for k in keys]
    assert sorted(r["identity"]["arn"].rsplit("/", 1)[-1] for r in logged) == ["acme-retail@222222222222", "corvid-labs@555555555555"]
    assert all(r["schemaType"] == "ModelInvocationLog" and "inputBodyJson" not in r.get("input", {}) for r in logged)
    # and the window's CMU cost is shared by token share, in each tenant's month
    window = CMUS * 5 * CMU_MINUTE
    total = acme_tokens + corvid_tokens
    month = f"{yesterday:%Y-%m}"
    acme = registry_items(hub, "acme-retail")[f"USAGE#{month}"]["models"][MODEL]
    corvid_usage = registry_items(hub, "corvid-labs")[f"USAGE#{month}"]["models"][MODEL]
    assert Decimal(acme["usd"]) == (window * acme_tokens / total).quantize(Decimal("0.000001"))
    assert Decimal(corvid_usage["usd"]) == (window * corvid_tokens / total).quantize(Decimal("0.000001"))
    assert (acme["invocations"], acme["input_tokens"] + acme["output_tokens"]) == (1, acme_tokens)
    assert abs(Decimal(acme["usd"]) + Decimal(corvid_usage["usd"]) - window) <= Decimal("0.000001")
    # corvid-labs goes RED on imported-model usage alone (no profile call at all), and is suspended
    meta = registry_items(hub, "corvid-labs")["META"]
    assert (meta["budget_level"], meta["status"]) == ("RED", "SUSPENDED")
    # the hub's month counts both shares
    hub_month = hub.client("dynamodb").get_item(TableName=hub.outputs["RegistryTableName"], ConsistentRead=True,
                                                Key={"pk": {"S": "HUB"}, "sk": {"S": f"USAGE#{month}"}})["Item"]
    assert Decimal(hub_month["month_to_date_usd"]["S"]) >= window - Decimal("0.000001")
    assert [r["action"] for r in audit_records(hub, "hub#budget")].count("EnableInvocationLogging") == 1
