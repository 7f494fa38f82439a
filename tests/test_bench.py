"""`hubctl bench`: the parts a reader of bench/results.md relies on, checked without a full run.

The full benchmark takes minutes; here each of its measures is checked on something small whose
answer is known: the scaling exponent of known curves, the price of a known execution, one
function's cold start measured the way Lambda would start it, and the flags' errors.
"""
import json
import subprocess
import sys
import textwrap

import pytest
from test_faults_every_state import ROOT

from hubctl.bench import _cost_per_1000, _exponent
from hubctl.bench_static import ColdStartError, _measure, function_env
from hubctl.cli import main as hubctl
from hubsim.deploy import load_template

PRICES = json.loads((ROOT / "bench" / "prices.json").read_text())
GLOBALS = load_template(ROOT / "template.yaml")["Globals"]["Function"]


@pytest.mark.parametrize(("power", "expected"), [(1, 1.0), (2, 2.0), (0.5, 0.5)])
def test_scaling_exponent_recovers_the_power_of_a_curve(power, expected):
    points = [(n, 0.003 * n ** power) for n in (100, 1000, 5000)]
    assert _exponent(points) == expected


def test_scaling_exponent_needs_two_sizes():
    assert _exponent([(100, 2.7)]) is None


def test_cost_per_1000_prices_each_count_with_the_published_prices():
    run = {"runs": 2, "machines": {"Onboarding": {"transitions": 9}}, "lambda_invocations": 14,
           "gb_seconds": 0.5, "dynamodb_write_units_per_run": 27}
    cost = _cost_per_1000(run, PRICES, "arm64")
    expected = 1000 * (9 * PRICES["stepfunctions_standard_per_transition"]["usd"]
                       + 7 * PRICES["lambda_per_request"]["usd"]
                       + 0.25 * PRICES["lambda_per_gb_second"]["arm64"]["usd"]
                       + 27 * PRICES["dynamodb_per_write_request_unit"]["usd"])
    assert cost["usd_per_1000"] == round(expected, 4)
    assert cost["per_run"] == {"transitions": 9, "lambda_invocations": 7.0, "gb_seconds": 0.25, "write_units": 27}
    # Arm is the cheaper architecture: the template's choice shows in the price
    assert _cost_per_1000(run, PRICES, "x86_64")["usd_per_1000"] > cost["usd_per_1000"]


def test_every_price_names_its_source():
    for name, price in PRICES.items():
        if not isinstance(price, dict):
            continue  # _comment, region, read_on
        for leaf in (price.values() if "usd" not in price else [price]):
            assert leaf["usd"] > 0 and leaf["source"].startswith("https://"), name


def _lambda_env(name: str, code_dir) -> dict:
    return function_env(GLOBALS, name, code_dir, "app.handler")


def test_a_cold_start_is_measured_under_lambdas_environment():
    code_dir = ROOT / "functions" / "record_rejection"
    measured = _measure("RecordRejectionFunction", code_dir, ROOT / "layer", "app", 1,
                        _lambda_env("RecordRejectionFunction", code_dir))
    assert measured["import_ms"] > 0
    assert "genai_hub.handler" in [h["module"] for h in measured["heaviest"]]


def test_the_tracer_patches_only_botocore_on_lambda():
    # Tracing is Active in the template, so on Lambda Powertools Tracer patches at import. Patching
    # every library the X-Ray SDK knows imports them all (requests, sqlite3, ...) and traces each HTTP
    # call twice (botocore's and http.client's); the hub's only client library is botocore.
    env = {"PATH": "", "PYTHONPATH": str(ROOT / "layer"), **_lambda_env("F", ROOT / "functions" / "record_rejection")}
    probe = "import sys, genai_hub.handler; print(sorted(m for m in ('requests', 'sqlite3', 'httpx') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    probe = "import genai_hub.observability as o; print(o.tracer.disabled)"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", "the tracer must be on, as on Lambda, for the measure to mean anything"


def test_a_handler_that_does_not_import_names_its_function(tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import genai_hub.handler
        raise ImportError("the layer lacks something")
    """))
    with pytest.raises(ColdStartError, match="BrokenFunction: `import app` failed") as raised:
        _measure("BrokenFunction", tmp_path, ROOT / "layer", "app", 1, _lambda_env("BrokenFunction", tmp_path))
    assert "the layer lacks something" in str(raised.value)


@pytest.mark.parametrize(("argv", "named"), [
    (["bench", "--concurrency", "0"], "--concurrency 0"),
    (["bench", "--sizes", "100,lots"], "--sizes '100,lots'"),
    (["bench", "--onboarding-sizes", "-5"], "--onboarding-sizes '-5'"),
])
def test_bad_bench_flags_name_the_flag(argv, named, capsys):
    with pytest.raises(SystemExit) as exited:
        hubctl(argv)
    assert exited.value.code == 2 and named in capsys.readouterr().err


def test_sizes_given_on_the_command_line_win_over_quick(monkeypatch):
    from hubctl import bench

    asked = {}
    monkeypatch.setattr(bench, "run", lambda **kwargs: asked.update(kwargs) or 0)
    assert hubctl(["bench", "--quick", "--sizes", "100,5000"]) == 0
    assert (asked["sizes"], asked["onboarding_sizes"], asked["suite"]) == ((100, 5000), (100,), False)
    assert hubctl(["bench"]) == 0
    assert (asked["sizes"], asked["onboarding_sizes"], asked["suite"]) == ((100, 1000, 5000), (100, 1000, 5000), True)


def test_the_scaling_chart_says_what_now_and_before_were(tmp_path):
    """A "before" faster than "now" must be explainable from the picture: commit, date, machine."""
    pytest.importorskip("matplotlib")
    from hubctl.bench import describe_run, plot

    now = {"commit": "abc1234", "generated_at": "2026-12-05T10:00:00Z", "machine": {"cpus": 2, "python": "3.12.1"},
           "scaling": {"retirement": [{"tenants": 100, "seconds": 4.0}, {"tenants": 1000, "seconds": 30.0}]}}
    before = {"generated_at": "2026-11-21T12:00:00Z", "machine": {"cpus": 8, "python": "3.12.1"},
              "scaling": {"retirement": [{"tenants": 100, "seconds": 2.0}]}}
    assert describe_run(now) == "abc1234, 2026-12-05, 2 CPUs, Python 3.12.1"
    assert describe_run(before) == "commit not recorded, 2026-11-21, 8 CPUs, Python 3.12.1"
    plot(now["scaling"], tmp_path / "scaling.png", before, now)
    assert (tmp_path / "scaling.png").stat().st_size > 10_000
