"""hubctl against the in-process engine: what an admin reads, and clear errors."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import as_operator, acting_as, application_profiles, registry_items, sample

from hubctl.cli import main as hubctl
from hubsim.engine import HUB_ACCOUNT


@pytest.fixture
def onboarded(hub, onboard):
    onboard(sample("onboarding/acme-retail-us.json"))
    onboard(sample("onboarding/kyoto-games-no-apac-profile.json"))
    return hub


def test_tenants_list_and_show(onboarded, capsys):
    assert hubctl(["tenants", "list"]) == 0
    out = capsys.readouterr().out
    assert "acme-retail" in out and "ACTIVE" in out and "kyoto-games" in out and "FAILED" in out

    assert hubctl(["tenants", "show", "acme-retail"]) == 0
    out = capsys.readouterr().out
    assert "amazon.nova-pro-v1:0" in out and "application-inference-profile" in out and "us.amazon.nova-pro-v1:0" in out


def test_tenants_show_unknown_tenant_is_a_clear_error(onboarded, capsys):
    assert hubctl(["tenants", "show", "nobody"]) == 1
    assert "no tenant 'nobody'" in capsys.readouterr().err


def test_executions_list_and_show_states_timings_errors(onboarded, capsys):
    assert hubctl(["executions", "list"]) == 0
    out = capsys.readouterr().out
    assert out.count("SUCCEEDED") == 1 and out.count("FAILED") == 1
    failed = next(e for e in onboarded.executions() if e["status"] == "FAILED")

    assert hubctl(["executions", "show", failed["executionArn"]]) == 0
    out = capsys.readouterr().out
    assert "Create inference profiles" in out and "NoProfileForResidency" in out  # the failing state and its error
    assert "Mark tenant failed" in out and "OnboardingFailed" in out


def test_audit_show_for_one_tenant(onboarded, capsys):
    assert hubctl(["audit", "show", "--tenant", "kyoto-games"]) == 0
    out = capsys.readouterr().out
    assert "tenant#kyoto-games" in out and "FailOnboarding" in out
    assert "acme-retail" not in out


def test_onboard_sends_an_event_file_and_waits(hub, capsys, tmp_path):
    event = sample("onboarding/bavaria-bank-eu.json")
    hub.deploy_tenant_spoke(event["detail"]["spoke"]["account_id"])
    path = tmp_path / "bavaria.json"
    path.write_text(json.dumps(event["detail"]))  # a bare detail works as well as an events/ sample

    assert hubctl(["onboard", str(path), "--wait", "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "Activate tenant" in out and "SUCCEEDED" in out


def test_onboard_with_a_missing_file_names_it(hub, capsys):
    assert hubctl(["onboard", "no-such-file.json"]) == 2
    assert "no-such-file.json: no such file" in capsys.readouterr().err


def test_a_missing_stack_says_how_to_get_one(hub, capsys):
    assert hubctl(["--stack-name", "not-deployed", "tenants", "list"]) == 3
    err = capsys.readouterr().err
    assert "not-deployed" in err and "sam deploy" in err and "hubctl local up" in err


def test_help_teaches_the_commands(capsys):
    with pytest.raises(SystemExit):
        hubctl(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "local", "onboard", "tenants", "executions", "audit", "usage", "budget", "--endpoint-url", "--stack-name"):
        assert command in out


# --- hubctl retire ------------------------------------------------------------------------------------

NOVA = "amazon.nova-pro-v1:0"


def _grant(hub, tenant_id: str, model_id: str) -> dict | None:
    return registry_items(hub, tenant_id).get(f"GRANT#{model_id}")


def _retirements(hub, model_id: str) -> list[dict]:
    from hubctl.views import retirement_records
    from hubctl.stack import connect

    return retirement_records(connect("genai-hub"), model_id)


def test_retire_dry_run_prints_the_impact_and_changes_nothing(hub, onboard, capsys):
    onboard(sample("onboarding/acme-retail-us.json"))

    assert as_operator(hub, ["retire", NOVA, "--tenants", "acme-retail,globex-support", "--grace", "P7D",
                   "--successor", "amazon.nova-premier-v1:0", "--reason", "moves to Nova Premier", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "1 tenant(s): acme-retail" in out and "nothing was changed" in out
    assert "listed, without a grant" in out and "globex-support" in out  # named, though it holds no grant
    [execution] = hub.executions(hub.outputs["RetirementStateMachineArn"])
    assert execution["name"].startswith("retire-amazon-nova-pro-v1-0-") and execution["name"].endswith("-dry-run")
    # nothing changed: no retirement recorded, the grant as it was, the profile still there
    assert _retirements(hub, NOVA) == []
    grant = _grant(hub, "acme-retail", NOVA)
    assert grant and grant.get("status", "ACTIVE") == "ACTIVE" and "retire_at" not in grant
    profiles = [p["inferenceProfileArn"] for p in application_profiles(hub, "us-east-1")]
    assert grant["profile_arn"] in profiles


def test_retire_a_request_the_hub_rejects_exits_2_naming_the_field(hub, capsys):
    # Checked locally first: the flag is named and nothing starts
    with pytest.raises(SystemExit) as exited:
        as_operator(hub, ["retire", NOVA, "--tenants", "all", "--grace", "P1M", "--reason", "x"])
    assert exited.value.code == 2 and "--grace 'P1M'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        as_operator(hub, ["retire", "amazon.nova-pro-v1", "--tenants", "all", "--reason", "x"])
    assert exited.value.code == 2 and "MODEL_ID with ':'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        as_operator(hub, ["retire", NOVA, "--tenants", "all"])
    assert exited.value.code == 2 and "--reason is required" in capsys.readouterr().err
    assert hub.executions(hub.outputs["RetirementStateMachineArn"]) == []

    # Well-formed, but the state machine (the authority) rejects it: nobody holds that model
    assert as_operator(hub, ["retire", "amazon.titan-text-express-v1:0", "--tenants", "all", "--reason", "end of life"]) == 2
    err = capsys.readouterr().err
    assert "rejected" in err and "$.model" in err and "no tenant holds a grant" in err
    [execution] = hub.executions(hub.outputs["RetirementStateMachineArn"])
    assert execution["status"] == "FAILED"


def test_a_cancellation_reports_what_it_restored_even_when_its_last_step_is_retried(hub, onboard, capsys):
    """The retirement record says CANCELLED a step before the execution ends with its output: hubctl waits
    for the end (its last step retried after doing its work here: the window between the two, widened)."""
    from hubsim import faults

    onboard(sample("onboarding/acme-retail-us.json"))
    assert as_operator(hub, ["retire", "amazon.nova-pro-v1", "0", "--tenants", "acme-retail", "--grace", "P7D",
                             "--reason", "moves on"]) == 0
    capsys.readouterr()
    faults.inject("EndCancelledRetirementFunction", error="Lambda.ServiceException", times=1, when="after")
    try:
        assert as_operator(hub, ["retire", NOVA, "--cancel", "--reason", "contract extended"]) == 0
    finally:
        faults.clear()
    assert "cancelled: 1 grant(s) back to ACTIVE" in capsys.readouterr().out


def test_retire_then_cancel_restores_the_grant_and_wait_shows_the_revocation(hub, onboard, capsys):
    onboard(sample("onboarding/acme-retail-us.json"))

    assert as_operator(hub, ["retire", "amazon.nova-pro-v1", "0", "--tenants", "acme-retail", "--grace", "P7D",
                   "--successor", "amazon.nova-premier-v1:0", "--reason", "moves to Nova Premier"]) == 0
    out = capsys.readouterr().out
    assert "scheduled" in out and "1 tenant(s) notified" in out and f"hubctl retire {NOVA} --cancel" in out
    assert _grant(hub, "acme-retail", NOVA)["status"] == "RETIRING"
    assert hubctl(["tenants", "show", "acme-retail"]) == 0
    out = capsys.readouterr().out
    assert "RETIRING" in out and "in 7 days" in out and "amazon.nova-premier-v1:0" in out

    # An operator cancels it, signed in as herself (she also reads the registry to find the retirement)
    with acting_as(hub.decider_credentials("maria@example.com", operator=True)):
        assert hubctl(["retire", NOVA, "--cancel", "--reason", "contract extended", "--requested-by", "Maria"]) == 0
    out = capsys.readouterr().out
    maria_arn = f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/hub-operator/maria@example.com"
    assert "cancelled" in out and "1 grant(s) back to ACTIVE" in out and f"as {maria_arn}" in out
    grant = _grant(hub, "acme-retail", NOVA)
    assert grant["status"] == "ACTIVE" and grant["retire_at"] is None and grant["successor"] is None
    [record] = _retirements(hub, NOVA)
    assert (record["status"], record["ended_by"], record["end_reason"]) == ("CANCELLED", maria_arn, "contract extended")
    assert grant["profile_arn"] in [p["inferenceProfileArn"] for p in application_profiles(hub, "us-east-1")]
    # nothing left to cancel
    assert as_operator(hub, ["retire", NOVA, "--cancel"]) == 1
    assert "no scheduled retirement" in capsys.readouterr().err

    # The same scope again, this time waited for: revoked at the date
    assert as_operator(hub, ["retire", NOVA, "--tenants", "acme-retail", "--grace", "PT1S", "--reason", "end of contract", "--wait"]) == 0
    out = capsys.readouterr().out
    assert "retired" in out and "1 tenant(s) revoked: acme-retail" in out and "1 inference profile(s) deleted" in out
    assert _grant(hub, "acme-retail", NOVA) is None
    assert hubctl(["retirements", "list"]) == 0
    out = capsys.readouterr().out
    assert "COMPLETED" in out and "CANCELLED" not in out  # the retirement id is the scope's: the cancelled one ran again


# --- hubctl usage, hubctl budget run ------------------------------------------------------------------

def _previous_month() -> tuple[str, datetime]:
    """The calendar month before now (UTC), "YYYY-MM", and its first day: budget runs meter the past only."""
    first = (datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)).replace(day=1)
    return first.strftime("%Y-%m"), first


def _bedrock_usage(hub, profile_arn: str, at, input_tokens: int, invocations: int = 10, output_tokens: int = 1000) -> None:
    """AWS/Bedrock datapoints for one application inference profile, as Bedrock records them in the hub
    account: ModelId = the profile's id."""
    hub.client("cloudwatch").put_metric_data(Namespace="AWS/Bedrock", MetricData=[
        {"MetricName": name, "Value": value, "Unit": "Count", "Timestamp": at,
         "Dimensions": [{"Name": "ModelId", "Value": profile_arn.rsplit("/", 1)[-1]}]}
        for name, value in (("Invocations", invocations), ("InputTokenCount", input_tokens), ("OutputTokenCount", output_tokens))])


@pytest.fixture
def metered(hub, onboard):
    """acme-retail (10 USD a month) with 5 days of Nova Pro usage last month, 2.40 USD a day (2,996,000 input
    tokens at 0.0008 USD per 1k, 1,000 output tokens at 0.0032); returns the month and its 6th, to meter up to."""
    event = sample("onboarding/acme-retail-us.json")
    event["detail"]["budget"] = {"monthly_limit_usd": 10, "on_red": "suspend"}
    onboard(event)
    profile_arn = registry_items(hub, "acme-retail")[f"PROFILE#{NOVA}"]["profile_arn"]
    month, first = _previous_month()
    for day in range(5):
        _bedrock_usage(hub, profile_arn, first + timedelta(days=day, hours=12), input_tokens=2_996_000)
    return month, (first + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_budget_run_meters_usage_and_usage_shows_level_spend_and_chart(hub, metered, capsys, tmp_path):
    import calendar

    # Given 12 USD of usage last month against a 10 USD budget
    month, as_of = metered

    # When a budget run meters up to the 6th and is waited for
    assert hubctl(["budget", "run", "--as-of", as_of, "--wait"]) == 0
    out = capsys.readouterr().out
    # Then it names the change and what was done: 12.00 USD spent of 10, suspended
    assert "SUCCEEDED" in out and "Level changes" in out and "acme-retail" in out and "suspended" in out
    assert "GREEN" in out and "RED" in out and "12.00" in out and "above the budget of 10.00 USD" in out
    assert "hub GREEN -> " in out  # 12 USD in 5 days is past the hub's yellow line too (HubBudgetLevelChanged)

    # And `hubctl usage` for that month shows the tenant, its level, status and spend, and the hub
    assert hubctl(["usage", "--month", month]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "acme-retail" in line)
    for shown in ("SUSPENDED", "RED", "12.00", "10.00", "120%", " 50 "):  # status, level, spent, limit, share, invocations
        assert shown in row
    assert "hub " in out and "prices: https://aws.amazon.com/bedrock/pricing/" in out

    # And one tenant in detail: a bar per day at the budget's pace, usage per model, why its level
    assert hubctl(["usage", "--tenant", "acme-retail", "--month", month]) == 0
    out = capsys.readouterr().out
    days = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
    assert f"the budget's pace, {10 / days:.2f} USD a day" in out
    bars = [line for line in out.splitlines() if line.startswith(f"  {month[5:]}-")]
    assert len(bars) == 5 and all("█" in line and "2.40" in line for line in bars)
    model = next(line for line in out.splitlines() if NOVA in line)
    assert "14,980,000" in model and "12.00" in model and "0.0008 / 0.0032" in model
    assert "why: month-to-date 12.00 USD above the budget of 10.00 USD" in out

    # And --png writes a chart (the hub and every tenant)
    chart = tmp_path / "usage.png"
    assert hubctl(["usage", "--month", month, "--png", str(chart)]) == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    assert f"chart written to {chart} (2 panel(s))" in capsys.readouterr().out


def test_usage_with_a_bad_month_or_an_unknown_tenant_exits_2_naming_the_flag(hub, capsys):
    with pytest.raises(SystemExit) as exited:
        hubctl(["usage", "--month", "2026-13"])
    assert exited.value.code == 2 and "--month '2026-13'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        hubctl(["usage", "--month", "10/2026"])
    assert exited.value.code == 2 and "YYYY-MM" in capsys.readouterr().err

    assert hubctl(["usage", "--tenant", "nobody"]) == 2
    assert "--tenant 'nobody'" in capsys.readouterr().err


def test_budget_run_with_a_bad_as_of_exits_2_naming_it_and_starts_nothing(hub, capsys):
    for bad, says in (("15/10/2026", "--as-of '15/10/2026'"), ("2026-10-15T00:00:00", "no time zone"),
                      ("2999-01-01T00:00:00Z", "in the future")):
        with pytest.raises(SystemExit) as exited:
            hubctl(["budget", "run", "--as-of", bad])
        assert exited.value.code == 2 and says in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        hubctl(["budget", "run", "--tenants", "Not_A_Tenant"])
    assert exited.value.code == 2 and "--tenants" in capsys.readouterr().err
    assert hub.executions(hub.outputs["BudgetAlertsStateMachineArn"]) == []

    # Well-formed, but the hub (the authority) rejects it: no such tenant
    assert hubctl(["budget", "run", "--tenants", "nobody-here", "--wait"]) == 2
    err = capsys.readouterr().err
    assert "rejected" in err and "$.tenants[0]" in err and "--tenants" in err and "no tenant 'nobody-here'" in err
