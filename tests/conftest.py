"""Fixtures: a fresh local engine per test, sample events from events/, helpers to read results."""
import copy
import json
import warnings
from pathlib import Path

import pytest

from hubsim.engine import signed_in as acting_as  # noqa: F401 (tests import it from here)

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def tool(name: str, venv: str) -> str | None:
    """A command from its own pinned environment (`make test` builds `venv`), else from PATH."""
    import shutil

    local = ROOT / venv / "bin" / name
    return str(local) if local.exists() else shutil.which(name)


def sample(name: str) -> dict:
    """A sample event file from events/<workflow>/<case>.json (a fresh copy every time)."""
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


@pytest.fixture(scope="module")
def deployed():
    """The deployed hub stack of the end-to-end tests (tests/e2e), found through its outputs: skipped
    unless GENAI_HUB_E2E_STACK names one and AWS credentials work."""
    import os

    stack = os.environ.get("GENAI_HUB_E2E_STACK")
    if not stack:
        pytest.skip("set GENAI_HUB_E2E_STACK to the name of a deployed hub stack to run the end-to-end tests")
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        boto3.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        pytest.skip(f"no working AWS credentials: {exc}")
    from hubctl.stack import connect

    return connect(stack)


@pytest.fixture
def hub():
    from hubsim.engine import LocalHub

    warnings.filterwarnings("ignore", message="Tried to parse")
    with LocalHub() as engine:
        yield engine


@pytest.fixture
def onboard(hub):
    """Deploy the tenant's spoke (unless told not to), send the onboarding event, wait, return the execution."""

    def run(event: dict, *, spoke_external_id: str | None = None, deploy_spoke: bool = True, deliveries: int = 1):
        detail = event["detail"]
        spoke = detail.get("spoke") if isinstance(detail, dict) else None
        if deploy_spoke and isinstance(spoke, dict) and spoke.get("account_id") not in hub.spokes:
            hub.deploy_tenant_spoke(spoke["account_id"])
        for _ in range(deliveries):
            hub.put_event(event["detail-type"], detail)
        return hub.wait_for_executions(timeout=120)

    return run


@pytest.fixture
def hub_events(hub):
    """Every event the hub emits on its bus, captured through a rule to an SQS queue (as a subscriber would)."""
    sqs, events = hub.client("sqs"), hub.client("events")
    queue_url = sqs.create_queue(QueueName="test-hub-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = hub.outputs["EventBusName"]
    events.put_rule(Name="test-capture", EventBusName=bus, EventPattern=json.dumps({"source": ["genai.hub"]}))
    events.put_targets(Rule="test-capture", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    received: list[dict] = []

    def drain(detail_type: str | None = None) -> list[dict]:
        while True:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for m in messages:
                received.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        return [e for e in received if detail_type is None or e["detail-type"] == detail_type]

    return drain


def registry_items(hub, tenant_id: str) -> dict:
    ddb = hub.client("dynamodb")
    items = ddb.query(
        TableName=hub.outputs["RegistryTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant_id}"}},
        ConsistentRead=True,
    )["Items"]
    from genai_hub.registry import from_item

    return {i["sk"]["S"]: from_item(i) for i in items}


def audit_records(hub, stream: str) -> list[dict]:
    from genai_hub import audit

    return audit.read_stream(stream, table=hub.outputs["AuditTableName"])


def application_profiles(hub, region: str) -> list[dict]:
    bedrock = hub.client("bedrock", region=region)
    return bedrock.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]


# --- figures in the test summary ------------------------------------------------------------------
# A test that measures something (times, counts) records it with record_property("figures", text);
# the summary prints them all. Properties travel with the test reports, so this works under xdist.

def pytest_terminal_summary(terminalreporter):
    figures = [(report.nodeid, value) for report in terminalreporter.stats.get("passed", [])
               for name, value in getattr(report, "user_properties", []) if name == "figures"]
    if figures:
        terminalreporter.section("figures")
        for nodeid, value in sorted(figures):
            terminalreporter.write_line(f"{nodeid.split('::')[-1]}: {value}")


def pytest_configure(config):
    """The least-privilege report (tests/least_privilege.py) is a plugin of its own."""
    import least_privilege

    if not config.pluginmanager.is_registered(least_privilege):
        config.pluginmanager.register(least_privilege, "hubsim-least-privilege")




def as_operator(hub, argv: list[str]) -> int:
    """hubctl run by an operator of the hub account (the decisions it takes go through the decision door)."""
    from hubctl.cli import main

    with acting_as(hub.decider_credentials("ops@example.com", operator=True)):
        return main(argv)
