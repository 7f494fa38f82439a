"""The daily usage export (issue 20): each tenant's usage per model and Region in FOCUS 1.2 columns,
in S3 under the Glue table's layout, the same figures as the budgets, and queryable as Athena would."""
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import duckdb
from conftest import registry_items, sample
from test_budget import record_usage, run

from genai_hub.usage_export import EXPORT_COLUMNS
from hubsim.deploy import ROOT, load_template

NOVA, SONNET_35, LITE = "amazon.nova-pro-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.nova-lite-v1:0"


def test_the_export_has_the_glue_tables_columns_in_order():
    table = load_template(ROOT / "template.yaml")["Resources"]["UsageFocusGlueTable"]["Properties"]["TableInput"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == list(EXPORT_COLUMNS)
    assert [c["Name"] for c in table["PartitionKeys"]] == ["dt"]
    # the FOCUS 1.2 columns a FinOps tool needs first are there
    assert {"BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd", "ServiceName",
            "RegionId", "ResourceId", "SubAccountId", "ConsumedQuantity", "ConsumedUnit"} <= {n for n, _ in EXPORT_COLUMNS}


def _exported(hub, day: str) -> tuple[list[dict], str]:
    body = hub.client("s3").get_object(Bucket=hub.outputs["UsageExportBucketName"], Key=f"focus/dt={day}/usage.json")["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()], body.decode()


def test_a_days_usage_of_two_tenants_is_exported_once_per_tenant_model_and_queried_like_athena(hub, onboard, capsys, tmp_path):
    from hubctl.cli import main as hubctl

    # Given acme-retail and globex-support, with usage yesterday metered by the budget run
    for name in ("acme-retail-us.json", "globex-support-us.json"):
        assert [e["status"] for e in onboard(sample(f"onboarding/{name}"))][-1] == "SUCCEEDED"
    day = (datetime.now(timezone.utc) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    acme, globex = registry_items(hub, "acme-retail"), registry_items(hub, "globex-support")
    record_usage(hub, acme[f"PROFILE#{NOVA}"], day + timedelta(hours=9), 4, 40_000, 8_000)
    record_usage(hub, acme[f"PROFILE#{SONNET_35}"], day + timedelta(hours=10), 2, 10_000, 2_000)
    record_usage(hub, globex[f"PROFILE#{LITE}"], day + timedelta(hours=11), 7, 70_000, 7_000)
    assert run(hub, as_of=(day + timedelta(days=1)).isoformat())["status"] == "SUCCEEDED"

    # When the day is exported (as the daily schedule does), twice
    assert hubctl(["usage", "--export", f"{day:%Y-%m-%d}"]) == 0
    assert f"3 FOCUS rows" in capsys.readouterr().out
    rows, first = _exported(hub, f"{day:%Y-%m-%d}")
    assert hubctl(["usage", "--export", f"{day:%Y-%m-%d}"]) == 0
    assert _exported(hub, f"{day:%Y-%m-%d}")[1] == first  # the same file again, not rows added

    # Then one row per tenant and model, in the Glue table's columns, with the budgets' figures
    assert all(list(r) == [n for n, _ in EXPORT_COLUMNS] for r in rows)
    by = {(r["x_TenantId"], r["x_ModelId"]): r for r in rows}
    assert sorted(by) == [("acme-retail", NOVA), ("acme-retail", SONNET_35), ("globex-support", LITE)]
    month = f"{day:%Y-%m}"
    for tenant_id in ("acme-retail", "globex-support"):
        item = registry_items(hub, tenant_id)[f"USAGE#{month}"]
        for model_id, totals in item["day_models"][f"{day:%Y-%m-%d}"].items():
            row = by[(tenant_id, model_id)]
            assert Decimal(str(row["BilledCost"])) == Decimal(totals["usd"]) == Decimal(str(row["EffectiveCost"]))
            assert row["x_InputTokens"] == int(totals["input_tokens"]) and row["ConsumedQuantity"] == row["x_InputTokens"] + row["x_OutputTokens"]
    nova = by[("acme-retail", NOVA)]
    assert (nova["ServiceName"], nova["ChargeCategory"], nova["BillingCurrency"], nova["ConsumedUnit"]) == (
        "Amazon Bedrock", "Usage", "USD", "Tokens")
    assert nova["ResourceId"] == acme[f"PROFILE#{NOVA}"]["profile_arn"] and nova["RegionId"] == acme[f"PROFILE#{NOVA}"]["region"]
    assert nova["SubAccountId"] == "222222222222" and json.loads(nova["Tags"])["genai-hub:cost-center"] == acme["META"]["cost_center"]
    assert nova["ChargePeriodStart"] == f"{day:%Y-%m-%d}T00:00:00Z" and nova["ChargePeriodEnd"] == f"{day + timedelta(days=1):%Y-%m-%d}T00:00:00Z"

    # And the query a FinOps analyst runs in Athena runs on the file (DuckDB here)
    path = tmp_path / "usage.json"
    path.write_text(first)
    spend = duckdb.sql(f"SELECT x_TenantId AS tenant, SUM(BilledCost) AS usd, SUM(ConsumedQuantity) AS tokens "
                       f"FROM read_json_auto('{path}') GROUP BY x_TenantId ORDER BY usd DESC").fetchall()
    expected = {t: Decimal(registry_items(hub, t)[f"USAGE#{month}"]["days"][f"{day:%Y-%m-%d}"]) for t in ("acme-retail", "globex-support")}
    assert [t for t, _, _ in spend] == sorted(expected, key=expected.get, reverse=True)
    assert all(abs(Decimal(str(usd)) - expected[t]) < Decimal("0.000001") for t, usd, _ in spend)
