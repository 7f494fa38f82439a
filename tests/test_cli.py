"""hubctl against the in-process engine: what an admin reads, and clear errors."""
import json

import pytest
from conftest import sample

from hubctl.cli import main as hubctl


@pytest.fixture
def onboarded(hub, onboard):
    onboard(sample("onboarding/acme-retail-us.json"))
    onboard(sample("onboarding/wrong-external-id.json"), spoke_external_id="kyoto-games-agreed-3e1f")
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
    assert "no tenant 'nobody'" in capsys.readouterr().out


def test_executions_list_and_show_states_timings_errors(onboarded, capsys):
    assert hubctl(["executions", "list"]) == 0
    out = capsys.readouterr().out
    assert out.count("SUCCEEDED") == 1 and out.count("FAILED") == 1
    failed = next(e for e in onboarded.executions() if e["status"] == "FAILED")

    assert hubctl(["executions", "show", failed["executionArn"]]) == 0
    out = capsys.readouterr().out
    assert "Create spoke invoke role" in out and "SpokeAccessDenied" in out  # the failing state and its error
    assert "Mark tenant failed" in out and "OnboardingFailed" in out


def test_audit_show_for_one_tenant(onboarded, capsys):
    assert hubctl(["audit", "show", "--tenant", "kyoto-games"]) == 0
    out = capsys.readouterr().out
    assert "tenant#kyoto-games" in out and "FailOnboarding" in out
    assert "acme-retail" not in out
    assert "kyoto-games-agreed" not in out and "not-the-agreed-external-id" not in out  # no ExternalId


def test_onboard_sends_an_event_file_and_waits(hub, capsys, tmp_path):
    event = sample("onboarding/bavaria-bank-eu.json")
    hub.deploy_tenant_spoke(event["detail"]["spoke"]["account_id"], event["detail"]["spoke"]["external_id"])
    path = tmp_path / "bavaria.json"
    path.write_text(json.dumps(event["detail"]))  # a bare detail works as well as an events/ sample

    assert hubctl(["onboard", str(path), "--wait", "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "Activate tenant" in out and "SUCCEEDED" in out


def test_onboard_with_a_missing_file_names_it(hub, capsys):
    with pytest.raises(SystemExit) as exited:
        hubctl(["onboard", "no-such-file.json"])
    assert "no-such-file.json: no such file" in str(exited.value)


def test_a_missing_stack_says_how_to_get_one(hub, capsys):
    assert hubctl(["--stack-name", "not-deployed", "tenants", "list"]) == 1
    out = capsys.readouterr().out
    assert "not-deployed" in out and "sam deploy" in out and "hubctl local up" in out


def test_help_teaches_the_commands(capsys):
    with pytest.raises(SystemExit):
        hubctl(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "local", "onboard", "tenants", "executions", "audit", "--endpoint-url", "--stack-name"):
        assert command in out
