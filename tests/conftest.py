"""Fixtures: a fresh local engine per test, sample events from events/, helpers to read results."""
import copy
import json
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def sample(name: str) -> dict:
    """A sample event file from events/<workflow>/<case>.json (a fresh copy every time)."""
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


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
            hub.deploy_tenant_spoke(spoke["account_id"], spoke_external_id or spoke["external_id"])
        for _ in range(deliveries):
            hub.put_event(event["detail-type"], detail)
        return hub.wait_for_executions(timeout=120)

    return run
