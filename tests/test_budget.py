"""Usage metering and graduated budget alerts: the level function on hand-built series, pricing,
and the budget-alerts workflow on the local engine (metering once, suspension, hub-wide level)."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from conftest import audit_records, registry_items, sample
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_hub import budget, pricing
from genai_hub.budget import Policy, assess
from genai_hub.errors import PriceMissing

OCT = (2026, 10)
NOVA, SONNET = "amazon.nova-pro-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"


def series(*spend, month="2026-10") -> dict[str, Decimal]:
    """{day: spend} from day 1 on; None leaves a day without data."""
    return {f"{month}-{n:02d}": Decimal(str(v)) for n, v in enumerate(spend, start=1) if v is not None}


def at(day: int, hour: int = 0, month=OCT) -> datetime:
    return datetime(*month, day, hour, tzinfo=timezone.utc)


def levels_day_by_day(policy: Policy, daily: list, start_level: str = "GREEN") -> list[str]:
    """The level in force after each day's run (at the next midnight), carrying it as a run does."""
    level, seen = start_level, []
    for day in range(1, len(daily) + 1):
        level = assess(policy, series(*daily[:day]), at(day + 1), level, "2026-10").level
        seen.append(level)
    return seen


# --- the level function -----------------------------------------------------------------------

def test_steady_spend_is_green_and_the_forecast_is_month_to_date_plus_the_median_pace():
    result = assess(Policy(limit=Decimal(100)), series(*[2] * 10), at(11))
    assert result.level == "GREEN" and result.month_to_date == Decimal(20)
    assert result.forecast == Decimal(20) + 2 * 21  # 21 of October's 31 days are left


def test_a_lone_spike_that_falls_back_stays_green():
    # one day at ten times the usual pace, then back: the median pace ignores it
    daily = [1, 1, 1, 1, 10, 1, 1, 1, 1, 1, 1, 1]
    assert set(levels_day_by_day(Policy(limit=Decimal(100)), daily)) == {"GREEN"}
    assert not assess(Policy(limit=Decimal(100)), series(*daily), at(13)).sustained_rise


def test_a_sustained_rise_is_orange_before_any_threshold_is_crossed():
    daily = [1, 1, 1, 1, 1.2, 1.5, 1.9]
    result = assess(Policy(limit=Decimal(50)), series(*daily), at(8))
    assert result.sustained_rise and result.level == "ORANGE"
    assert result.forecast < Decimal(40) and result.month_to_date < Decimal(45)
    assert "sustained rise" in result.reasons[0]


def test_a_rise_that_cannot_threaten_the_budget_is_not_an_alert():
    daily = [0.01, 0.012, 0.015, 0.019]
    result = assess(Policy(limit=Decimal(100)), series(*daily), at(5))
    assert result.level == "GREEN" and not result.sustained_rise


def test_levels_climb_green_yellow_orange_red_in_order():
    # a step up (forecast crosses 80 %), then month-to-date crosses 90 %, then the limit
    daily = [2] * 5 + [4] * 10 + [6] * 10
    seen = levels_day_by_day(Policy(limit=Decimal(100)), daily)
    changes = [level for n, level in enumerate(seen) if n == 0 or level != seen[n - 1]]
    assert changes == ["GREEN", "YELLOW", "ORANGE", "RED"]
    assert seen[-1] == "RED"


def test_yellow_is_the_forecast_against_the_first_threshold():
    policy = Policy(limit=Decimal(100), yellow=Decimal("0.5"))
    assert assess(policy, series(*[2] * 10), at(11)).level == "YELLOW"  # forecast 62 > 50
    assert "forecast" in assess(policy, series(*[2] * 10), at(11)).reasons[0]


def test_orange_is_month_to_date_against_the_second_threshold_and_red_above_the_limit():
    policy = Policy(limit=Decimal(100))
    assert assess(policy, series(*[45, 46]), at(3)).level == "ORANGE"   # 91 > 90, not above 100
    assert assess(policy, series(*[45, 56]), at(3)).level == "RED"      # 101 > 100


def test_hysteresis_holds_a_level_until_the_value_is_clearly_below_its_threshold():
    policy = Policy(limit=Decimal(100))
    hovering = series(*[2.45] * 10)  # forecast 75.95: under 80 %, within 5 % of it
    assert assess(policy, hovering, at(11), "GREEN", "2026-10").level == "GREEN"
    held = assess(policy, hovering, at(11), "YELLOW", "2026-10")
    assert held.level == "YELLOW" and "held at YELLOW" in held.reasons[0]
    clearly_below = series(*[2.3] * 10)  # forecast 71.3 < 75
    assert assess(policy, clearly_below, at(11), "YELLOW", "2026-10").level == "GREEN"


def test_a_value_hovering_at_a_threshold_changes_level_once_not_every_run():
    # the pace alternates just above and just below the 80 % forecast line
    policy = Policy(limit=Decimal(100), forecast_days=1)
    daily = [2.6, 2.5] * 7
    seen = levels_day_by_day(policy, daily)
    changes = sum(1 for before, after in zip(["GREEN", *seen], seen) if before != after)
    assert changes == 1 and seen[-1] == "YELLOW"


def test_a_new_month_starts_green_whatever_the_last_level_was():
    october = series(*[5] * 31)
    result = assess(Policy(limit=Decimal(100)), october, datetime(2026, 11, 1, 6, tzinfo=timezone.utc), "RED", "2026-10")
    assert result.level == "GREEN" and result.month == "2026-11" and result.month_to_date == 0


def test_a_zero_budget_is_red_at_the_first_cent_and_green_without_use():
    policy = Policy(limit=Decimal(0))
    assert assess(policy, {}, at(10)).level == "GREEN"
    assert assess(policy, series(0.000001), at(2)).level == "RED"


def test_days_without_data_spent_nothing():
    policy = Policy(limit=Decimal(100))
    nothing = assess(policy, {}, at(20))
    assert nothing.level == "GREEN" and nothing.forecast == 0 and nothing.month_to_date == 0
    gaps = assess(policy, series(3, None, None, 3, None, None, None), at(8))
    assert gaps.month_to_date == Decimal(6)
    assert gaps.forecast == Decimal(6)  # the median day of the last week spent nothing


def test_the_first_hours_of_a_month_project_the_pace_so_far():
    result = assess(Policy(limit=Decimal(100)), series(1), at(1, 12))
    assert result.forecast == Decimal(1) + Decimal(1) * Decimal("30.5")  # under a day: pace per whole day


@settings(max_examples=200, deadline=None)
@given(st.lists(st.decimals(min_value=0, max_value=50, places=2), min_size=1, max_size=30),
       st.decimals(min_value=1, max_value=1000, places=0))
def test_red_exactly_when_month_to_date_exceeds_the_limit_and_a_bigger_limit_never_raises_the_level(daily, limit):
    as_of = at(len(daily) + 1) if len(daily) < 31 else datetime(2026, 10, 31, 23, tzinfo=timezone.utc)
    result = assess(Policy(limit=limit), series(*daily), as_of)
    assert (result.level == "RED") == (sum(daily) > limit)
    assert budget.rank(assess(Policy(limit=limit * 2), series(*daily), as_of).level) <= budget.rank(result.level)


# --- pricing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("usage, expected", [
    (pricing.Usage(input_tokens=1000), Decimal("0.0008")),
    (pricing.Usage(output_tokens=1000), Decimal("0.0032")),
    (pricing.Usage(invocations=1000), Decimal(0)),  # on-demand text models bill tokens, not requests
    (pricing.Usage(invocations=3, input_tokens=2500, output_tokens=500), Decimal("0.0036")),
])
def test_each_metric_is_priced_from_the_table(usage, expected):
    assert pricing.cost(NOVA, usage) == expected


def test_a_per_request_price_counts_invocations(monkeypatch):
    table = json.loads(json.dumps(pricing.table()))
    table["models"]["example.per-request-v1:0"] = {"input_per_1k": "0", "output_per_1k": "0", "per_request": "0.002"}
    monkeypatch.setattr(pricing, "table", lambda: table)
    assert pricing.cost("example.per-request-v1:0", pricing.Usage(invocations=7)) == Decimal("0.014")


def test_imported_models_have_their_own_or_the_default_unit_prices():
    imported = pricing.table()["imported_models"]
    assert pricing.unit_price("support-bot:1.0.0").input_per_1k == Decimal(imported["by_model"]["support-bot"]["input_per_1k"])
    assert pricing.unit_price("other-model:2.0.0").output_per_1k == Decimal(imported["default"]["output_per_1k"])


def test_an_unpriced_model_is_an_error_naming_it_never_free():
    with pytest.raises(PriceMissing, match="acme.unknown-v1:0.*prices.json"):
        pricing.cost("acme.unknown-v1:0", pricing.Usage(input_tokens=1))


def test_every_model_a_tenant_can_get_has_a_price_with_its_source():
    from hubsim.patches.bedrock import catalog

    assert set(catalog()["models"]) <= set(pricing.table()["models"])
    assert pricing.table()["source"].startswith("https://aws.amazon.com/bedrock/pricing/") and pricing.table()["as_of"]


def test_small_costs_add_up_exactly():
    one_call = pricing.cost(NOVA, pricing.Usage(1, 1, 1))
    assert one_call > 0 and sum([one_call] * 1000, Decimal(0)) == pricing.cost(NOVA, pricing.Usage(1000, 1000, 1000))


# --- the workflow on the local engine ---------------------------------------------------------

def tenant_event(tenant_id: str, account: str, limit, on_red: str = "suspend") -> dict:
    event = sample("onboarding/acme-retail-us.json")
    event["detail"].update(tenant_id=tenant_id, display_name=tenant_id, budget={"monthly_limit_usd": limit, "on_red": on_red},
                           spoke={"account_id": account, "external_id": f"{tenant_id}-external-id"})
    return event


def profiles(hub, tenant_id: str) -> dict[str, dict]:
    return {v["model_id"]: v for k, v in registry_items(hub, tenant_id).items() if k.startswith("PROFILE#")}


def record_usage(hub, profile: dict, when: datetime, invocations: int, input_tokens: int, output_tokens: int) -> None:
    """Datapoints as Bedrock publishes them for an invocation through the profile: ModelId = its id."""
    hub.client("cloudwatch", region=profile["region"]).put_metric_data(Namespace="AWS/Bedrock", MetricData=[
        {"MetricName": name, "Value": value, "Unit": "Count", "Timestamp": when,
         "Dimensions": [{"Name": "ModelId", "Value": profile["profile_arn"].rsplit("/", 1)[-1]}]}
        for name, value in (("Invocations", invocations), ("InputTokenCount", input_tokens), ("OutputTokenCount", output_tokens))])


def start_run(hub, **request) -> str:
    body = {"requested_by": "platform-admin@example.com", **request}
    return hub.client("stepfunctions").start_execution(
        stateMachineArn=hub.outputs["BudgetAlertsStateMachineArn"], input=json.dumps(body, default=str))["executionArn"]


def run(hub, **request) -> dict:
    arn = start_run(hub, **request)
    hub.wait_for_executions(timeout=120)
    return hub.client("stepfunctions").describe_execution(executionArn=arn)


def usage_item(hub, tenant_id: str, month: str = "2026-10") -> dict:
    return registry_items(hub, tenant_id)[f"USAGE#{month}"]


def access_tags(hub, tenant_id: str) -> set[str]:
    """The `genai-hub:access` tag of each of the tenant's profiles, which the tenant access role reads."""
    bedrock = hub.client("bedrock")
    return {next((t["value"] for t in bedrock.list_tags_for_resource(resourceARN=p["profile_arn"])["tags"]
                  if t["key"] == "genai-hub:access"), None) for p in profiles(hub, tenant_id).values()}


def revoked_sessions(hub) -> str:
    """The tenant access role's revocation policy, as one string ("" when there is none)."""
    iam, role = hub.client("iam"), hub.outputs["TenantAccessRoleArn"].rsplit("/", 1)[-1]
    if "genai-hub-revoked-sessions" not in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        return ""
    return json.dumps(iam.get_role_policy(RoleName=role, PolicyName="genai-hub-revoked-sessions")["PolicyDocument"])


@pytest.fixture
def acme(hub, onboard):
    [execution] = onboard(tenant_event("acme-retail", "222222222222", 1))
    assert execution["status"] == "SUCCEEDED"
    return profiles(hub, "acme-retail")


def test_usage_is_priced_per_model_and_counted_once_however_often_the_run_repeats(hub, acme, hub_events):
    day = at(14, 12)
    record_usage(hub, acme[NOVA], day, 40, 200_000, 50_000)
    record_usage(hub, acme[SONNET], day, 10, 100_000, 20_000)
    record_usage(hub, acme[SONNET], day + timedelta(hours=13), 99, 999_999, 999_999)  # after as_of: next run's
    expected = pricing.cost(NOVA, pricing.Usage(40, 200_000, 50_000)) + pricing.cost(SONNET, pricing.Usage(10, 100_000, 20_000))
    as_of = at(15)
    # the same scheduled tick delivered three times at once, then once more
    with ThreadPoolExecutor(3) as pool:
        arns = list(pool.map(lambda _: start_run(hub, as_of=as_of.isoformat()), range(3)))
    hub.wait_for_executions(timeout=120)
    assert {hub.client("stepfunctions").describe_execution(executionArn=a)["status"] for a in arns} == {"SUCCEEDED"}
    assert run(hub, as_of=as_of.isoformat())["status"] == "SUCCEEDED"
    usage = usage_item(hub, "acme-retail")
    assert Decimal(usage["month_to_date_usd"]) == expected
    assert {d: v for d, v in usage["days"].items() if Decimal(v)} == {"2026-10-14": str(expected)}
    assert len(usage["days"]) == 14  # every metered day is booked, with or without use
    assert usage["models"][NOVA]["input_tokens"] == 200_000 and usage["models"][SONNET]["invocations"] == 10
    assert registry_items(hub, "acme-retail")["META"]["metered_until"] == "2026-10-15T00:00:00Z"


def test_a_window_across_midnight_and_month_end_books_each_day_and_month(hub, acme):
    run(hub, as_of=at(31).isoformat())
    record_usage(hub, acme[NOVA], datetime(2026, 10, 31, 23, tzinfo=timezone.utc), 1, 100_000, 0)
    record_usage(hub, acme[NOVA], datetime(2026, 11, 1, 1, tzinfo=timezone.utc), 1, 200_000, 0)
    assert run(hub, as_of="2026-11-01T02:00:00Z")["status"] == "SUCCEEDED"
    assert usage_item(hub, "acme-retail")["days"]["2026-10-31"] == "0.080000"
    november = usage_item(hub, "acme-retail", "2026-11")
    assert november["days"] == {"2026-11-01": "0.160000"} and november["month_to_date_usd"] == "0.160000"
    from genai_hub.registry import from_item

    hub_october = from_item(hub.client("dynamodb").get_item(
        TableName=hub.outputs["RegistryTableName"], Key={"pk": {"S": "HUB"}, "sk": {"S": "USAGE#2026-10"}})["Item"])
    assert hub_october["days"]["2026-10-31"] == "0.080000"  # the hub's closed month is completed too


def test_red_suspends_the_tenant_and_the_next_month_restores_it(hub, acme, hub_events):
    record_usage(hub, acme[SONNET], at(3, 12), 100, 3_000_000, 100_000)  # 9 + 1.5 = 10.5 USD, over the 1 USD budget
    assert run(hub, as_of=at(4).isoformat())["status"] == "SUCCEEDED"
    meta = registry_items(hub, "acme-retail")["META"]
    assert (meta["budget_level"], meta["status"]) == ("RED", "SUSPENDED")
    assert access_tags(hub, "acme-retail") == {"suspended"} and '"acme-retail"' in revoked_sessions(hub)
    [changed] = hub_events("TenantBudgetLevelChanged")
    assert changed["detail"]["level"] == "RED" and changed["detail"]["action"] == "suspended"
    assert changed["detail"]["notify"] == ["tenant", "admins"]
    [record] = [r for r in audit_records(hub, "tenant#acme-retail") if r["action"] == "BudgetLevelChanged"]
    assert json.loads(record["detail"])["level"] == "RED" and record["workflow"] == "budget-alerts"

    assert run(hub, as_of=at(5).isoformat())["status"] == "SUCCEEDED"  # still RED: no new change, no new event
    assert len(hub_events("TenantBudgetLevelChanged")) == 1

    assert run(hub, as_of="2026-11-01T06:00:00Z")["status"] == "SUCCEEDED"
    meta = registry_items(hub, "acme-retail")["META"]
    assert (meta["budget_level"], meta["status"]) == ("GREEN", "ACTIVE")
    assert access_tags(hub, "acme-retail") == {"granted"}
    restored = hub_events("TenantBudgetLevelChanged")[-1]["detail"]
    assert (restored["previous_level"], restored["level"], restored["action"]) == ("RED", "GREEN", "restored")


def test_a_notify_only_tenant_at_red_keeps_its_access(hub, onboard, hub_events):
    assert {e["status"] for e in onboard(tenant_event("bolt-media", "333333333333", 1, on_red="notify-only"))} == {"SUCCEEDED"}
    record_usage(hub, profiles(hub, "bolt-media")[NOVA], at(2, 12), 1, 2_000_000, 0)
    run(hub, as_of=at(3).isoformat())
    meta = registry_items(hub, "bolt-media")["META"]
    assert (meta["budget_level"], meta["status"]) == ("RED", "ACTIVE")
    assert access_tags(hub, "bolt-media") == {"granted"} and '"bolt-media"' not in revoked_sessions(hub)
    assert hub_events("TenantBudgetLevelChanged")[0]["detail"]["action"] == "notify-only"


def test_tenants_growing_together_raise_the_hub_level_while_each_stays_green(hub, onboard, hub_events):
    tenants = {"acme-retail": "222222222222", "bolt-media": "333333333333", "corvid-labs": "555555555555"}
    for tenant_id, account in tenants.items():
        assert {e["status"] for e in onboard(tenant_event(tenant_id, account, 30))} == {"SUCCEEDED"}
        # 0.64 USD a day each: a 19.84 USD month, 66 % of each tenant's 30 USD, 99 % of the hub's 60 together
        for day in range(1, 8):
            record_usage(hub, profiles(hub, tenant_id)[NOVA], at(day, 12), 10, 800_000, 0)
    result = run(hub, as_of=at(8).isoformat())
    assert result["status"] == "SUCCEEDED"
    assert {registry_items(hub, t)["META"]["budget_level"] for t in tenants} == {"GREEN"}
    [hub_change] = hub_events("HubBudgetLevelChanged")
    assert hub_change["detail"]["level"] == "YELLOW" and hub_change["detail"]["tenants"] == 3
    assert json.loads(result["output"])["hub"]["level"] == "YELLOW"
    # (the first run also pointed the account's invocation logging at the hub's bucket, once)
    assert [r["action"] for r in audit_records(hub, "hub#budget")] == ["EnableInvocationLogging", "HubBudgetLevelChanged"]
    assert hub_events("TenantBudgetLevelChanged") == []


@pytest.mark.parametrize("request_body, field", [
    ({"as_of": "15/10/2026"}, "$.as_of"),
    ({"as_of": "2099-01-01T00:00:00Z"}, "$.as_of"),
    ({"tenants": ["nobody-here"]}, "$.tenants[0]"),
    ({"tenants": "acme-retail"}, "$.tenants"),
    ({"dry_run": True}, "$"),
])
def test_a_bad_run_request_is_rejected_naming_the_field_and_audited(hub, acme, hub_events, request_body, field):
    result = run(hub, **request_body)
    assert result["status"] == "FAILED" and result["error"] == "InputRejected"
    [rejected] = hub_events("WorkflowInputRejected")
    assert rejected["detail"]["field"] == field and rejected["detail"]["workflow"] == "budget-alerts"
    [record] = audit_records(hub, "rejected#budget-alerts")
    assert json.loads(record["detail"])["field"] == field
    assert "USAGE#2026-10" not in registry_items(hub, "acme-retail")  # nothing metered


def test_suspension_really_blocks_the_tenant_profiles_and_restoration_unblocks_them(hub, acme, record_property):
    import time

    from botocore.config import Config
    from botocore.exceptions import ClientError

    from hubsim.engine import tenant_app
    from hubsim.patches.bedrock_runtime import simulated_now

    # Given acme-retail's application with hub credentials vended before the suspension
    session = hub.tenant_session("acme-retail", "222222222222")
    runtime = session.client("bedrock-runtime", config=Config(retries={"total_max_attempts": 1}))
    converse = {"modelId": acme[SONNET]["profile_arn"], "messages": [{"role": "user", "content": [{"text": "word " * 400_000}]}]}
    with simulated_now(at(3, 12)):
        runtime.converse(**converse)  # 400,000 input tokens of Claude 3.5 Sonnet: 1.20 USD, 120 % of the budget
    # When the budget run suspends it
    run(hub, as_of=at(4).isoformat())
    suspended_at = time.monotonic()
    assert registry_items(hub, "acme-retail")["META"]["status"] == "SUSPENDED"
    # Then its very next call is refused, with the credentials it already had
    with pytest.raises(ClientError) as denied:
        runtime.converse(**{**converse, "messages": [{"role": "user", "content": [{"text": "hello"}]}]})
    refused_after = time.monotonic() - suspended_at
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError):  # every profile of the tenant, not only the one that spent
        runtime.converse(modelId=acme[NOVA]["profile_arn"], messages=[{"role": "user", "content": [{"text": "hello"}]}])
    # and new credentials are refused by the broker, naming the reason
    with pytest.raises(tenant_app().AccessRefused) as refused:
        hub.tenant_session("acme-retail", "222222222222")
    assert refused.value.error == "TenantSuspended" and refused.value.status == 403

    # When the next month's run restores it, the application (which gets new credentials once) is answered
    run(hub, as_of="2026-11-01T06:00:00Z")
    assert registry_items(hub, "acme-retail")["META"]["status"] == "ACTIVE"
    answer = tenant_app().converse_with_retry(session, acme[NOVA]["profile_arn"], "hello")
    assert answer["output"]["message"]["content"][0]["text"]
    record_property("figures", f"suspension: next call refused {refused_after:.2f} s after the budget run ended "
                               "(with credentials vended before it)")
