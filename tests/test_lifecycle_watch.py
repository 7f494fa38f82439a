"""Bedrock's model lifecycle followed (issue 20): a foundation model AWS moves to Legacy is retired for
the tenants holding it, at its end-of-life date, with its successor, once."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import audit_records, registry_items, sample
from test_retirement import retirement_records, wait_until

SONNET_35, SONNET_4 = "anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0"


@pytest.fixture
def lifecycles():
    from hubsim.patches import bedrock_models

    yield bedrock_models
    bedrock_models.reset_lifecycles()


def _poll(hub) -> dict:
    """The lifecycle watch, invoked as its schedule does."""
    answer = hub.client("lambda").invoke(FunctionName=hub.outputs["LifecycleWatchFunctionName"],
                                         Payload=json.dumps({"requested_by": "test-schedule"}).encode())
    result = json.loads(answer["Payload"].read())
    assert not answer.get("FunctionError"), result
    return result


def _cancel(hub, record: dict) -> None:
    hub.client("stepfunctions").send_task_failure(taskToken=record["task_token"], error="RetirementCancelled",
                                                  cause=json.dumps({"cancelled_by": "test", "reason": "end of test"}))
    hub.wait_for_executions(timeout=60)


def test_a_model_entering_legacy_starts_one_retirement_at_its_end_of_life_with_its_successor(hub, onboard, lifecycles):
    # Given acme-retail holding Claude 3.5 Sonnet, and a poll while every model is ACTIVE: nothing to do
    assert [e["status"] for e in onboard(sample("onboarding/acme-retail-us.json"))][-1] == "SUCCEEDED"
    assert _poll(hub)["started"] == []

    # When AWS moves Claude 3.5 Sonnet to Legacy, with an end of life in 40 days
    now = datetime.now(timezone.utc).replace(microsecond=0)
    end = now + timedelta(days=40)
    lifecycles.set_lifecycle(SONNET_35, "LEGACY", legacy_time=now - timedelta(days=1), end_of_life_time=end)
    first = _poll(hub)

    # Then one retirement is started for its holder, dated at the end of life, with the mapped successor
    [started] = first["started"]
    assert (started["model_id"], started["tenants"], started["successor"]) == (SONNET_35, ["acme-retail"], SONNET_4)
    assert started["retire_at"] == end.strftime("%Y-%m-%dT%H:%M:%SZ")
    [record] = wait_until(lambda: [r for r in retirement_records(hub, SONNET_35) if r["status"] == "SCHEDULED"],
                          what="retirement SCHEDULED")
    assert (record["scope"], record["retire_at"], record["successor"]) == (["acme-retail"], started["retire_at"], SONNET_4)
    grant = registry_items(hub, "acme-retail")[f"GRANT#{SONNET_35}"]
    assert (grant["status"], grant["retire_at"]) == ("RETIRING", started["retire_at"])
    [audited] = [json.loads(r["detail"]) for r in audit_records(hub, "hub#lifecycle") if r["action"] == "StartLifecycleRetirement"]
    assert audited["model_id"] == SONNET_35 and audited["lifecycle"]["status"] == "LEGACY"

    # And a second poll (the next day, or a redelivered schedule) starts none
    second = _poll(hub)
    assert second["started"] == [] and [m["model_id"] for m in second["left_alone"]] == [SONNET_35]
    assert len(retirement_records(hub, SONNET_35)) == 1
    _cancel(hub, record)


def test_a_legacy_model_already_retiring_for_its_holders_is_left_alone(hub, onboard, lifecycles):
    from test_retirement import retire

    # Given acme-retail holding Claude 3.5 Sonnet, whose retirement an admin already started
    onboard(sample("onboarding/acme-retail-us.json"))
    retire(hub, wait=False, model=SONNET_35.rsplit(":", 1)[0], version="0", tenants=["acme-retail"], grace="P10D")
    [record] = wait_until(lambda: [r for r in retirement_records(hub, SONNET_35) if r["status"] == "SCHEDULED"],
                          what="retirement SCHEDULED")

    # When AWS moves it to Legacy (no end-of-life date announced yet)
    lifecycles.set_lifecycle(SONNET_35, "LEGACY", legacy_time=datetime.now(timezone.utc))
    polled = _poll(hub)

    # Then the watch starts nothing and says why
    assert polled["started"] == [] and polled["left_alone"] == [
        {"model_id": SONNET_35, "why": "already retiring for every tenant that holds it"}]
    assert len(retirement_records(hub, SONNET_35)) == 1
    _cancel(hub, record)


def test_hubctl_models_lifecycle_lists_what_is_coming(hub, onboard, lifecycles, capsys):
    from hubctl.cli import main as hubctl

    onboard(sample("onboarding/acme-retail-us.json"))
    end = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    lifecycles.set_lifecycle(SONNET_35, "LEGACY", legacy_time=datetime.now(timezone.utc), end_of_life_time=end)
    assert hubctl(["models", "lifecycle", "--output", "json"]) == 0
    rows = {r["model_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[SONNET_35]["status"] == "LEGACY" and rows[SONNET_35]["holders"] == ["acme-retail"]
    assert rows[SONNET_35]["successor"] == SONNET_4 and rows["amazon.nova-pro-v1:0"]["status"] == "ACTIVE"
    assert hubctl(["models", "lifecycle", "--poll"]) == 0
    said = capsys.readouterr().out
    assert f"retirement requested: {SONNET_35} for acme-retail" in said and SONNET_4 in said
    [record] = wait_until(lambda: [r for r in retirement_records(hub, SONNET_35) if r["status"] == "SCHEDULED"],
                          what="retirement SCHEDULED")
    _cancel(hub, record)
