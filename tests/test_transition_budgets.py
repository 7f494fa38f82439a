"""Each workflow's happy path stays within its recorded state-transition budget (bench/budgets.json).

State transitions are what Step Functions Standard bills, and unlike times they are deterministic:
a change that adds states to a happy path fails here until bench/budgets.json is raised on purpose
(with the reason in the commit). Polling loops (waiting for an import slot or job) repeat as often
as the service takes; each of their states counts once.
"""
import json
from collections import Counter

import pytest
from test_faults_every_state import ROOT

from hubctl.bench import _executions_since
from hubsim.deploy import load_template
from hubsim.workloads import WORKLOADS

BUDGETS = json.loads((ROOT / "bench" / "budgets.json").read_text())


def _machines_in_template() -> set[str]:
    template = load_template(ROOT / "template.yaml")
    return {name.removesuffix("StateMachine") for name, r in template["Resources"].items()
            if r["Type"] == "AWS::Serverless::StateMachine"}


def test_every_workflow_has_a_budget_and_a_workload():
    machines = _machines_in_template()
    assert machines == {k for k in BUDGETS if not k.startswith("_")}, "a workflow without a budget in bench/budgets.json"
    covered = {m.removesuffix("StateMachineArn") for w in WORKLOADS.values() for m in w.machines}
    assert machines == covered, "a workflow without a happy-path workload in hubsim/workloads.py"


def _transitions(hub, execution_arn: str, polling: set[str]) -> int:
    entered = Counter(e["stateEnteredEventDetails"]["name"] for e in hub.history(execution_arn) if e["type"].endswith("StateEntered"))
    return sum(1 if name in polling else n for name, n in entered.items())


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_happy_path_transitions_stay_within_budget(hub, workload, record_property):
    from datetime import datetime, timezone

    since = datetime.now(timezone.utc).replace(microsecond=0)
    for trigger in WORKLOADS[workload].prepare(hub, 1, "budget"):
        trigger()
    hub.wait_for_executions(timeout=300)
    counted = {}
    for output in WORKLOADS[workload].machines:
        machine = output.removesuffix("StateMachineArn")
        [execution] = _executions_since(hub, output, since)
        assert execution["status"] == "SUCCEEDED", execution
        counted[machine] = _transitions(hub, execution["executionArn"], set(BUDGETS[machine].get("polling_states", [])))
    over = {m: f"{n} > {BUDGETS[m]['transitions']}" for m, n in counted.items() if n > BUDGETS[m]["transitions"]}
    assert over == {}, f"happy-path transitions over budget (bench/budgets.json): {over}"
    record_property("figures", ", ".join(f"{m}: {n} transitions (budget {BUDGETS[m]['transitions']})" for m, n in counted.items()))
