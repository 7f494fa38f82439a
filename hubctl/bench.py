"""`hubctl bench` / `make bench`: what each workflow costs locally (time) and on AWS (counts, USD).

For the happy path of every workflow (hubsim.workloads), on the embedded engine:
- latency p50/p95 and executions per second, one run at a time and 32 at once;
- engine overhead: the executions' time divided by the time inside the Lambda handlers in the
  same run (the handlers alone are the floor; designed waits such as a grace period count as
  overhead and are named in the report);
- state transitions and Lambda invocations per execution (from the execution histories) and
  DynamoDB write requests (counted in the emulated DynamoDB), priced per 1,000 executions with
  bench/prices.json;
then retirement and onboarding at 100, 1,000 and 5,000 tenants, each Lambda's cold-start import
time and package size, and the time of `hubctl demo` and of the test suite.

Writes bench/results.json, bench/results.md and bench/scaling.png. A bench/baseline.json (the same
benchmark run on an earlier commit) adds a before/after column.
"""
import json
import math
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SEQUENTIAL_RUNS = 5
SCALING_SIZES = (100, 1000, 5000)
# 5,000 concurrent onboardings take about 20 minutes on two cores (each builds a profile set, a role
# in a spoke account and an audit chain): most of a full run.
ONBOARDING_SIZES = (100, 1000, 5000)


# --- counters the engine does not keep --------------------------------------------------------

class DynamoDBWrites:
    """Write request units in the emulated DynamoDB (1 per item written, 2 per item of a transaction)."""

    def __init__(self):
        self.units, self._lock, self._originals = 0, threading.Lock(), {}

    def _count(self, name, units_of):
        from moto.dynamodb.models import DynamoDBBackend

        original = self._originals[name] = getattr(DynamoDBBackend, name)

        def counted(backend, *args, **kwargs):
            result = original(backend, *args, **kwargs)
            with self._lock:
                self.units += units_of(*args, **kwargs)
            return result

        setattr(DynamoDBBackend, name, counted)

    def __enter__(self):
        for single in ("put_item", "update_item", "delete_item"):
            self._count(single, lambda *a, **k: 1)
        # moto applies a transaction's items through the three calls above (1 unit each counted
        # there); a transactional write costs 2 units per item: one more per item here.
        self._count("transact_write_items", lambda transact_items, *a, **k: len(transact_items))
        return self

    def __exit__(self, *exc):
        from moto.dynamodb.models import DynamoDBBackend

        for name, original in self._originals.items():
            setattr(DynamoDBBackend, name, original)


def _handler_seconds() -> tuple[dict[str, float], int]:
    """Seconds inside each function's handler so far (by deployed function name), and invocations."""
    from hubsim.patches import lambda_runtime

    return dict(lambda_runtime.handler_seconds), sum(lambda_runtime.invocations.values())


def _architecture() -> str:
    """The functions' architecture, from template.yaml: moto's CloudFormation drops Architectures
    (every deployed function says x86_64), so the template is the only source."""
    from hubsim.deploy import load_template

    template = load_template(ROOT / "template.yaml")
    own = [name for name, r in template["Resources"].items()
           if r["Type"] == "AWS::Serverless::Function" and "Architectures" in r.get("Properties", {})]
    if own:
        raise RuntimeError(f"{', '.join(own)} set their own Architectures: price their GB-seconds per function")
    return template["Globals"]["Function"]["Architectures"][0]


def _gb_seconds(hub, seconds: dict[str, float]) -> float:
    """GB-seconds: each function's handler time at its deployed memory size."""
    lambda_client = hub.client("lambda")
    return sum(took * lambda_client.get_function_configuration(FunctionName=function)["MemorySize"] / 1024
               for function, took in seconds.items())


# --- one workload ----------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _executions_since(hub, machine_output: str, since: datetime) -> list[dict]:
    sfn = hub.client("stepfunctions")
    found, kwargs = [], {"stateMachineArn": hub.outputs[machine_output], "maxResults": 1000}
    while True:
        page = sfn.list_executions(**kwargs)
        found += [e for e in page["executions"] if e["startDate"] >= since]
        if not page.get("nextToken"):
            return found
        kwargs["nextToken"] = page["nextToken"]


def _counts(hub, execution_arn: str) -> tuple[int, int]:
    """(state transitions, Lambda invocations) of one execution, from its history."""
    history = hub.history(execution_arn)
    transitions = sum(1 for e in history if e["type"].endswith("StateEntered"))
    lambdas = sum(1 for e in history if e["type"] == "LambdaFunctionScheduled"
                  or (e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "lambda"))
    return transitions, lambdas


def _wait_for_runs(hub, workload, since: datetime, runs: int, timeout: float = 1800) -> None:
    """Wait until every machine of the workload has `runs` finished executions: a later machine
    (the evaluation a ModelImported starts) begins only after the earlier one ended."""
    deadline = time.monotonic() + timeout
    for output in workload.machines:
        while len(_executions_since(hub, output, since)) < runs:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workload.name}: fewer than {runs} executions of {output} after {timeout:.0f} s")
            time.sleep(0.2)
        hub.wait_for_executions(timeout=max(1.0, deadline - time.monotonic()))


def _run(hub, workload, concurrency: int, tag: str, sequential: bool) -> dict:
    """Fire the triggers (one at a time, or all at once), wait, and measure every execution."""
    triggers = workload.prepare(hub, concurrency, tag)
    handler_before, invocations_before = _handler_seconds()
    since = datetime.now(timezone.utc).replace(microsecond=0)
    started = time.perf_counter()
    with DynamoDBWrites() as writes:
        if sequential:
            for done, trigger in enumerate(triggers, 1):
                trigger()
                _wait_for_runs(hub, workload, since, done)
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(lambda t: t(), triggers))
            _wait_for_runs(hub, workload, since, len(triggers))
    wall = time.perf_counter() - started
    handler_after, invocations_after = _handler_seconds()
    machines = {}
    for output in workload.machines:
        executions = _executions_since(hub, output, since)
        described = [hub.client("stepfunctions").describe_execution(executionArn=e["executionArn"]) for e in executions]
        failed = [d for d in described if d["status"] != "SUCCEEDED"]
        if failed:
            raise RuntimeError(f"{workload.name}: {len(failed)} of {len(described)} executions of {output} did not succeed: "
                               f"{failed[0]['executionArn']} {failed[0]['status']} {failed[0].get('error')} {failed[0].get('cause', '')[:300]}")
        latencies = [(d["stopDate"] - d["startDate"]).total_seconds() for d in described]
        counts = [_counts(hub, d["executionArn"]) for d in described]
        machines[output.removesuffix("StateMachineArn")] = {
            "executions": len(described),
            "p50_s": round(statistics.median(latencies), 3), "p95_s": round(_percentile(latencies, 0.95), 3),
            "transitions": max(c[0] for c in counts), "lambda_invocations": max(c[1] for c in counts),
            "execution_seconds": round(sum(latencies), 3),
        }
    runs = len(triggers)
    spent = {f: t - handler_before.get(f, 0.0) for f, t in handler_after.items() if t > handler_before.get(f, 0.0)}
    handler = sum(spent.values())
    busy = sum(m["execution_seconds"] for m in machines.values())
    return {
        "concurrency": 1 if sequential else concurrency, "runs": runs, "wall_s": round(wall, 2),
        "executions_per_s": round(sum(m["executions"] for m in machines.values()) / wall, 2),
        "handler_s": round(handler, 3), "lambda_invocations": invocations_after - invocations_before,
        "gb_seconds": round(_gb_seconds(hub, spent), 3),
        "engine_overhead": round((busy if sequential else wall) / handler, 2) if handler else None,
        "dynamodb_write_units_per_run": round(writes.units / runs, 1),
        "machines": machines,
    }


def _cost_per_1000(run: dict, prices: dict, architecture: str) -> dict:
    per_run = {
        "transitions": sum(m["transitions"] for m in run["machines"].values()),
        "lambda_invocations": run["lambda_invocations"] / run["runs"],
        "gb_seconds": run["gb_seconds"] / run["runs"],
        "write_units": run["dynamodb_write_units_per_run"],
    }
    usd = (per_run["transitions"] * prices["stepfunctions_standard_per_transition"]["usd"]
           + per_run["lambda_invocations"] * prices["lambda_per_request"]["usd"]
           + per_run["gb_seconds"] * prices["lambda_per_gb_second"][architecture]["usd"]
           + per_run["write_units"] * prices["dynamodb_per_write_request_unit"]["usd"])
    return {"per_run": {k: round(v, 3) for k, v in per_run.items()}, "usd_per_1000": round(1000 * usd, 4)}


def workflows(concurrency: int, progress) -> dict:
    from hubsim.engine import LocalHub
    from hubsim.workloads import WORKLOADS

    prices, architecture = json.loads((BENCH / "prices.json").read_text()), _architecture()
    results = {}
    for name, workload in WORKLOADS.items():
        with LocalHub() as hub:
            progress(f"{name}: {SEQUENTIAL_RUNS} runs one at a time")
            single = _run(hub, workload, SEQUENTIAL_RUNS, "s", sequential=True)
            progress(f"{name}: {concurrency} runs at once")
            many = _run(hub, workload, concurrency, "c", sequential=False)
        results[name] = {"one_at_a_time": single, "concurrent": many, "cost": _cost_per_1000(single, prices, architecture)}
    return results


# --- scaling ---------------------------------------------------------------------------------

def _exponent(points: list[tuple[int, float]]) -> float | None:
    """The slope of log(time) against log(tenants): 1 is linear."""
    if len(points) < 2:
        return None
    xs, ys = [math.log(n) for n, _ in points], [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs), 2)


def scaling(sizes, onboarding_sizes, progress) -> dict:
    from hubsim.engine import LocalHub
    from hubsim.seed import seed_tenants
    from hubsim.workloads import WORKLOADS

    results = {"retirement": [], "onboarding": []}
    for n in sizes:
        with LocalHub() as hub:
            progress(f"retirement of one model held by {n} tenants")
            seed_tenants(hub, n)
            sfn = hub.client("stepfunctions")
            started = time.perf_counter()
            arn = sfn.start_execution(stateMachineArn=hub.outputs["RetirementStateMachineArn"], input=json.dumps({
                "model": "amazon.nova-pro-v1", "version": "0", "tenants": "all", "grace": "PT1S", "successor": None,
                "reason": "benchmark", "requested_by": "bench@example.com"}))["executionArn"]
            hub.wait_for_executions(timeout=3600)
            took = time.perf_counter() - started
            status = sfn.describe_execution(executionArn=arn)["status"]
            if status != "SUCCEEDED":
                raise RuntimeError(f"retirement of {n} tenants ended {status}")
            results["retirement"].append({"tenants": n, "seconds": round(took, 2), "transitions": _counts(hub, arn)[0]})
    for n in onboarding_sizes:
        with LocalHub() as hub:
            progress(f"{n} onboardings at once")
            triggers = WORKLOADS["onboarding"].prepare(hub, n, f"scale{n}")
            since = datetime.now(timezone.utc).replace(microsecond=0)
            started = time.perf_counter()
            for trigger in triggers:
                trigger()
            hub.wait_for_executions(timeout=7200)
            took = time.perf_counter() - started
            executions = _executions_since(hub, "OnboardingStateMachineArn", since)
            if len(executions) != n or any(e["status"] != "SUCCEEDED" for e in executions):
                raise RuntimeError(f"{n} onboardings: {len(executions)} executions, "
                                   f"{sum(e['status'] != 'SUCCEEDED' for e in executions)} not SUCCEEDED")
            per_execution = _counts(hub, executions[0]["executionArn"])[0]
            results["onboarding"].append({"tenants": n, "seconds": round(took, 2), "transitions": per_execution * n,
                                          "executions_per_s": round(n / took, 1)})
    for name in list(results):
        results[name + "_exponent"] = _exponent([(p["tenants"], p["seconds"]) for p in results[name]])
    return results


def _commit() -> str | None:
    """The commit measured (short id, with -dirty when the tree has changes), so "before" names one."""
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty else "")


def describe_run(run: dict | None) -> str:
    """What a run was, for a legend: its commit (when recorded), date and machine."""
    if not run:
        return ""
    machine = run.get("machine") or {}
    return ", ".join(part for part in (run.get("commit") or "commit not recorded", (run.get("generated_at") or "")[:10],
                                       f"{machine.get('cpus', '?')} CPUs", f"Python {machine.get('python', '?')}") if part)


def plot(scaled: dict, path: Path, baseline: dict | None, now: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, colour in (("retirement", "tab:red"), ("onboarding", "tab:blue")):
        points = scaled.get(name) or []
        ax.plot([p["tenants"] for p in points], [p["seconds"] for p in points], "o-", color=colour,
                label=f"{name} (exponent {scaled.get(name + '_exponent')})")
        before = (baseline or {}).get("scaling", {}).get(name) or []
        if before:
            ax.plot([p["tenants"] for p in before], [p["seconds"] for p in before], "o--", color=colour, alpha=0.45,
                    label=f"{name} before (bench/baseline.json)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tenants")
    ax.set_ylabel("seconds (local engine)")
    ax.set_title("Scaling on the local engine", loc="left")
    # Say what "now" and "before" were: a before faster than now is a different commit or machine, not a mistake.
    lines = [f"now: {describe_run(now)}"] + ([f"before: {describe_run(baseline)}"] if baseline else [])
    fig.text(0.01, 0.005, "\n".join(lines), fontsize="x-small", color="dimgrey", va="bottom")
    fig.subplots_adjust(bottom=0.2)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- report ----------------------------------------------------------------------------------

def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown(results: dict, baseline: dict | None) -> str:
    before = (baseline or {}).get("workflows", {})
    lines = [f"# Benchmark ({results['generated_at']}, {results['machine']['cpus']} CPUs, Python {results['machine']['python']})", ""]
    lines += ["## Workflows (happy path, local engine)", "",
              _row(["workflow", "p50 / p95 s (1 at a time)", "p50 / p95 s (32 at once)", "executions/s (32)",
                    "engine overhead", "transitions", "Lambda calls", "DDB write units", "USD per 1,000"]),
              _row(["---"] * 9)]
    for name, r in results["workflows"].items():
        first = next(iter(r["one_at_a_time"]["machines"].values()))
        first_many = next(iter(r["concurrent"]["machines"].values()))
        b = before.get(name)

        def was(value, old):
            return f"{value} (was {old})" if b and old is not None and old != value else value

        transitions = r["cost"]["per_run"]["transitions"]
        lines.append(_row([
            name,
            f"{first['p50_s']} / {first['p95_s']}",
            f"{first_many['p50_s']} / {first_many['p95_s']}",
            was(r["concurrent"]["executions_per_s"], b and b["concurrent"]["executions_per_s"]),
            was(r["one_at_a_time"]["engine_overhead"], b and b["one_at_a_time"]["engine_overhead"]),
            was(transitions, b and b["cost"]["per_run"]["transitions"]),
            was(r["cost"]["per_run"]["lambda_invocations"], b and b["cost"]["per_run"]["lambda_invocations"]),
            was(r["cost"]["per_run"]["write_units"], b and b["cost"]["per_run"]["write_units"]),
            was(r["cost"]["usd_per_1000"], b and b["cost"]["usd_per_1000"]),
        ]))
    lines += ["", "Engine overhead: the executions' time over the time inside the handlers (1 at a time). "
              "Model import waits for the emulated import job (2 s) and retirement for its grace period (1 s): "
              "designed waits, counted as overhead.", ""]
    scaled = results.get("scaling") or {}
    if scaled:
        lines += ["## Scaling", "", _row(["tenants", "retirement s", "retirement transitions", "onboarding s", "onboardings/s"]),
                  _row(["---"] * 5)]
        retirement = {p["tenants"]: p for p in scaled["retirement"]}
        onboarding = {p["tenants"]: p for p in scaled["onboarding"]}
        for tenants in sorted(retirement.keys() | onboarding.keys()):
            ret, onb = retirement.get(tenants, {}), onboarding.get(tenants, {})
            lines.append(_row([tenants, ret.get("seconds", "-"), ret.get("transitions", "-"),
                               onb.get("seconds", "-"), onb.get("executions_per_s", "-")]))
        lines += ["", f"Scaling exponent (time vs tenants): retirement {scaled['retirement_exponent']}, "
                      f"onboarding {scaled['onboarding_exponent']}.", ""]
    colds = results.get("cold_starts") or []
    if colds:
        slowest = sorted(colds, key=lambda c: -c["import_ms"])
        lines += ["## Cold starts (import of the handler module)", "", _row(["function", "import ms", "heaviest imports", "package bytes"]),
                  _row(["---"] * 4)]
        for c in slowest[:8]:
            heavy = ", ".join(f"{h['module']} {h['ms']}" for h in c["heaviest"])
            lines.append(_row([c["function"], c["import_ms"], heavy, c["package_bytes"]]))
        lines += ["", f"{len(colds)} functions; median {statistics.median(c['import_ms'] for c in colds):.1f} ms; "
                      f"layer {colds[0]['layer_bytes']} bytes.", ""]
    for key, what in (("demo", "`hubctl demo`"), ("suite", "the test suite")):
        command = (results.get("commands") or {}).get(key)
        if command:
            lines.append(f"- {what}: {command['seconds']} s (exit {command['exit_code']})")
    return "\n".join(lines) + "\n"


def run(*, concurrency: int = 32, sizes=SCALING_SIZES, onboarding_sizes=ONBOARDING_SIZES, cold: bool = True, demo: bool = True, suite: bool = True,
        out: Path = BENCH) -> int:
    import logging
    import warnings

    from rich.console import Console

    # The emulation's own notes (resources moto's CloudFormation skips, Powertools' metric flushes)
    # would bury the progress lines; the report says what was measured.
    warnings.filterwarnings("ignore")
    logging.getLogger("moto").setLevel(logging.ERROR)
    console = Console(highlight=False)
    started = time.perf_counter()

    def progress(message: str) -> None:
        console.print(f"[dim]{time.perf_counter() - started:7.1f}s[/dim] {message}")

    results = {"generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": _commit(),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}}
    out.mkdir(exist_ok=True)
    partial = out / "results.partial.json"  # what a run stopped half-way had measured
    results["workflows"] = workflows(concurrency, progress)
    partial.write_text(json.dumps(results, indent=2))
    if sizes or onboarding_sizes:
        results["scaling"] = scaling(sizes, onboarding_sizes, progress)
        partial.write_text(json.dumps(results, indent=2))
    if cold:
        from hubctl.bench_static import cold_starts

        progress("cold starts of every function")
        results["cold_starts"] = cold_starts(ROOT)
    from hubctl.bench_static import timed_command

    commands = {}
    bin_dir = Path(sys.executable).parent
    if demo:
        progress("hubctl demo")
        commands["demo"] = timed_command([str(bin_dir / "hubctl"), "demo"], ROOT, log=out / "demo.log")
    if suite:
        progress("the test suite (pytest)")
        commands["suite"] = timed_command([str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider"], ROOT, log=out / "suite.log")
    results["commands"] = commands
    results["bench_seconds"] = round(time.perf_counter() - started, 1)

    baseline_path = out / "baseline.json"
    baseline = json.loads(baseline_path.read_text()) if baseline_path.exists() else None
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    partial.unlink(missing_ok=True)
    report = markdown(results, baseline)
    (out / "results.md").write_text(report)
    written = [out / "results.json", out / "results.md"]
    if results.get("scaling"):
        plot(results["scaling"], out / "scaling.png", baseline, results)
        written.append(out / "scaling.png")
    console.print(report)
    console.print("written: " + ", ".join(str(path) for path in written))
    return 0
