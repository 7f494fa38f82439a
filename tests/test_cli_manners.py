"""hubctl's manners (issue 17): every command fed bad input answers with its documented exit code and
one line on stderr naming the field, file or resource (one line per problem of an input file), never
a traceback; global options go anywhere on the line; read commands print json, text or a table with
ARNs whole. One engine for the module: bad input changes nothing, so the cases can share it."""
import json

import pytest
from conftest import sample

from hubctl.cli import main as hubctl

NOVA = "amazon.nova-pro-v1:0"
ONBOARDING_ARN = "arn:aws:states:us-east-1:123456789012:execution:genai-hub-tenant-onboarding"


@pytest.fixture(scope="module")
def engine():
    """The hub with acme-retail onboarded and an imported model version not waiting for a decision."""
    import warnings

    from genai_hub.registry import to_item
    from hubsim.engine import LocalHub

    warnings.filterwarnings("ignore", message="Tried to parse")
    with LocalHub() as hub:
        event = sample("onboarding/acme-retail-us.json")
        hub.deploy_tenant_spoke(event["detail"]["spoke"]["account_id"])
        hub.put_event(event["detail-type"], event["detail"])
        hub.wait_for_executions(timeout=120)
        hub.client("dynamodb").put_item(TableName=hub.outputs["RegistryTableName"], Item=to_item({
            "pk": "MODEL#support-bot", "sk": "VERSION#1.0.0", "kind": "model-version", "model_name": "support-bot",
            "version": "1.0.0", "status": "IMPORTED"}))
        yield hub


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Bad input files, by what is wrong with them."""
    folder = tmp_path_factory.mktemp("bad")
    detail = sample("onboarding/bavaria-bank-eu.json")["detail"]
    written = {
        "array": json.dumps([detail]),
        "string": json.dumps("acme"),
        "not-json": '{"tenant_id": "acme-retail",',
        "sample-with-array-detail": json.dumps({"detail-type": "TenantOnboardingRequested", "detail": [detail]}),
        "three-bad-fields": json.dumps({**detail, "tenant_id": "Bad_Id", "data_residency": "mars", "budget": "lots"}),
        "unknown-field": json.dumps({**detail, "colour": "blue"}),
        "unknown-detail-type": json.dumps({"detail-type": "TenantPainted", "detail": detail}),
        "yellow-above-orange": json.dumps({**detail, "budget": {"monthly_limit_usd": 10, "thresholds": {"yellow": 0.95, "orange": 0.9}}}),
    }
    paths = {}
    for name, text in written.items():
        paths[name] = str(folder / f"{name}.json")
        (folder / f"{name}.json").write_text(text)
    paths["directory"] = str(folder)
    paths["missing"] = str(folder / "missing.json")
    return paths


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `hubctl ARGV` in this process; a usage error found while the flags
    are read exits as argparse does (SystemExit), the rest is returned."""
    try:
        code = hubctl(list(argv))
    except SystemExit as exited:
        code = exited.code
    out, err = capsys.readouterr()
    return code, out, err


def error_line(result: tuple[int, str, str], code: int, *says: str) -> str:
    """The one error line, checked: the exit code, one line on stderr from hubctl, what it names, no traceback."""
    exit_code, out, err = result
    assert "Traceback" not in out + err, out + err
    assert exit_code == code, f"exit {exit_code}, not {code}: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"{len(lines)} lines on stderr:\n{err}"
    assert lines[0].startswith("hubctl") and ": error: " in lines[0], lines[0]
    for said in says:
        assert said in lines[0], f"{said!r} not in {lines[0]!r}"
    return lines[0]


# --- 2: usage ------------------------------------------------------------------------------------------

USAGE_CASES = {
    "no action": (["tenants"], "ACTION"),
    "no argument": (["tenants", "show"], "TENANT_ID"),
    "unknown command": (["tenantz", "list"], "invalid choice: 'tenantz'"),
    "unknown option": (["tenants", "list", "--colour"], "unrecognized arguments: --colour"),
    "bad --output": (["tenants", "list", "--output", "yaml"], "--output"),
    "bad --query": (["tenants", "list", "--query", "[?status=="], "--query"),
    "--output on a command that is not a read": (["onboard", "events/onboarding/acme-retail-us.json", "--output", "json"], "--output json"),
    "global option without its value": (["tenants", "list", "--region"], "--region"),
    "bad --timeout": (["onboard", "events/onboarding/acme-retail-us.json", "--timeout", "soon"], "--timeout"),
    "zero --timeout": (["onboard", "events/onboarding/acme-retail-us.json", "--wait", "--timeout", "0"], "--timeout 0"),
    "retire without a version": (["retire", "support-bot", "--tenants", "all", "--reason", "x"], "MODEL_ID with ':'"),
    "retire with a bad --grace": (["retire", NOVA, "--tenants", "all", "--grace", "P1M", "--reason", "x"], "--grace 'P1M'"),
    "retire with a bad --at": (["retire", NOVA, "--tenants", "all", "--at", "tomorrow", "--reason", "x"], "--at 'tomorrow'"),
    "retire --cancel with --dry-run": (["retire", NOVA, "--cancel", "--dry-run"], "--dry-run"),
    "usage with a bad --month": (["usage", "--month", "2026-13"], "--month '2026-13'"),
    "usage of an unknown tenant": (["usage", "--tenant", "nobody"], "--tenant 'nobody'"),
    "budget run in the future": (["budget", "run", "--as-of", "2999-01-01"], "in the future"),
    "budget run of a malformed tenant id": (["budget", "run", "--tenants", "Not_A_Tenant"], "--tenants"),
    "bench with bad sizes": (["bench", "--sizes", "lots"], "--sizes 'lots'"),
    "import from a malformed bucket name": (["import", "models/x/1.0.0", "--bucket", "Not_A_Bucket"], "--bucket"),
    "audit show of a tenant and a stream": (["audit", "show", "--tenant", "a", "--stream", "b"], "not allowed with"),
    "executions show of a malformed ARN": (["executions", "show", "arn:aws:states:nowhere"], "not an execution ARN"),
    "local up with a clock in the future": (["local", "up", "--clock", "2999-01-01"], "--clock 2999-01-01T00:00:00Z is in the future"),
    "local up with a clock without a zone": (["local", "up", "--clock", "2026-11-02T12:00:00"], "has no time zone"),
    "local clock advance by nothing": (["local", "clock", "advance", "P0D"], "DURATION 'P0D'"),
    "local clock advance by months": (["local", "clock", "advance", "P1M"], "DURATION 'P1M'"),
    "tenants update with nothing to change": (["tenants", "update", "acme-retail"], "nothing to change"),
    "tenants update with a bad threshold": (["tenants", "update", "acme-retail", "--orange", "2"], "--yellow/--orange"),
    "tenants update with a bad cost centre": (["tenants", "update", "acme-retail", "--cost-center", "a b"], "--cost-center"),
    "tenants update with a non-number limit": (["tenants", "update", "acme-retail", "--monthly-limit", "lots"], "--monthly-limit"),
    "tenants offboard without a reason": (["tenants", "offboard", "acme-retail"], "--reason"),
    "tenants offboard with an empty reason": (["tenants", "offboard", "acme-retail", "--reason", ""], "--reason"),
    "tenants offboard of a malformed id": (["tenants", "offboard", "Not_A_Tenant", "--reason", "x"], "TENANT_ID"),
    "--query on data of the wrong type": (["tenants", "list", "--query", "sort_by(@, &nope)"], "--query: In function sort_by()"),
}


@pytest.mark.parametrize("argv,says", USAGE_CASES.values(), ids=USAGE_CASES.keys())
def test_a_usage_error_exits_2_with_one_line_naming_it(engine, capsys, argv, says):
    error_line(run(capsys, *argv), 2, says)


FILE_CASES = {
    "missing": ("no such file",),
    "directory": ("is a directory",),
    "not-json": ("not valid JSON", "line 1"),
    "array": ("is a JSON array, not an object", "nothing was sent"),
    "string": ("is a JSON string, not an object",),
    "sample-with-array-detail": ("$.detail is a JSON array",),
    "unknown-field": ("$: Additional properties are not allowed ('colour' was unexpected)", "nothing was sent"),
    "unknown-detail-type": ("$.detail-type", "unknown detail-type 'TenantPainted'"),
    "yellow-above-orange": ("$.budget.thresholds: yellow must not be above orange",),
}


@pytest.mark.parametrize("name,says", FILE_CASES.items(), ids=FILE_CASES.keys())
def test_onboard_refuses_a_bad_file_before_sending_anything(engine, files, capsys, name, says):
    before = len(engine.executions(engine.outputs["OnboardingStateMachineArn"]))
    line = error_line(run(capsys, "onboard", files[name], "--wait"), 2, *says)
    assert files[name] in line  # the file is named
    assert len(engine.executions(engine.outputs["OnboardingStateMachineArn"])) == before


def test_onboard_names_every_bad_field_of_a_file_one_line_each(engine, files, capsys):
    # Given a detail with three bad fields; When it is onboarded
    code, out, err = run(capsys, "onboard", files["three-bad-fields"])

    # Then each is named on a line of its own, then how many and that nothing was sent
    assert code == 2 and "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert all(line.startswith(f"hubctl onboard: error: {files['three-bad-fields']}: ") for line in lines)
    for field in ("$.budget: \"lots\" is not valid", "$.data_residency: \"mars\" is not valid: expected one of us, eu, apac",
                  "$.tenant_id: \"Bad_Id\" is not valid"):
        assert sum(field in line for line in lines) == 1, f"{field} not once in:\n{err}"
    assert lines[-1].endswith("3 problems with TenantOnboardingRequested; nothing was sent") and len(lines) == 4


# --- 1: not found, not waiting ---------------------------------------------------------------------------

NOT_FOUND_CASES = {
    "tenants show": (["tenants", "show", "nobody"], "no tenant 'nobody'", "hubctl tenants list"),
    "models show": (["models", "show", "ghost"], "no model 'ghost'", "hubctl models list"),
    "evaluations show of an unknown model": (["evaluations", "show", "ghost", "1.0.0"], "no model 'ghost'"),
    "evaluations show of an unknown version": (["evaluations", "show", "support-bot", "9.9.9"], "no version '9.9.9'"),
    "evaluations show without an evaluation": (["evaluations", "show", "support-bot", "1.0.0"], "has no evaluation"),
    "executions show of an unknown name": (["executions", "show", "no-such-run"], "no execution 'no-such-run'"),
    "executions show of an impossible name": (["executions", "show", "two words"], "no execution 'two words'"),
    "executions show of an unknown ARN": (["executions", "show", f"{ONBOARDING_ARN}:nope"], "no execution"),
    "approve an unknown model": (["approve", "ghost", "1.0.0"], "no version '1.0.0' of model 'ghost'"),
    "approve an unknown version": (["approve", "support-bot", "9.9.9"], "no version '9.9.9' of model 'support-bot'"),
    "approve a version not waiting": (["approve", "support-bot", "1.0.0"], "is IMPORTED, not waiting for a decision"),
    "reject an unknown model": (["reject", "ghost", "1.0.0", "--reason", "no"], "no version '1.0.0' of model 'ghost'"),
    "cancel a retirement there is not": (["retire", "ghost:1.0.0", "--cancel"], "no scheduled retirement of ghost:1.0.0"),
    "audit show of an unknown stream": (["audit", "show", "--stream", "model#ghost"], "no audit records for stream model#ghost"),
    "audit show of an unknown tenant": (["audit", "show", "--tenant", "nobody"], "--tenant 'nobody'"),
}


@pytest.mark.parametrize("argv,says", [(c[0], c[1:]) for c in NOT_FOUND_CASES.values()], ids=NOT_FOUND_CASES.keys())
def test_what_does_not_exist_exits_1_naming_it(engine, capsys, argv, says):
    error_line(run(capsys, *argv), 1, *says)


def test_a_dry_run_of_an_unknown_model_is_rejected_as_the_real_run_is(engine, capsys):
    from conftest import acting_as

    with acting_as(engine.decider_credentials("ops@example.com", operator=True)):  # retiring is a decision: a person's
        dry = error_line(run(capsys, "retire", "ghost:1.0.0", "--tenants", "all", "--reason", "end of life", "--dry-run"), 2,
                         "rejected: $.model (MODEL): no imported version ghost:1.0.0 in the registry")
        real = error_line(run(capsys, "retire", "ghost:1.0.0", "--tenants", "all", "--reason", "end of life"), 2)
    assert dry.split("; nothing was changed")[0] == real.split("; nothing was changed")[0]


# --- 3: the hub cannot be reached; 4: a bug; 130: Ctrl-C ---------------------------------------------------

def test_a_hub_that_cannot_be_reached_exits_3_saying_what_to_do(engine, capsys):
    error_line(run(capsys, "--stack-name", "not-deployed", "tenants", "list"), 3, "'not-deployed' not found", "hubctl local up")
    error_line(run(capsys, "tenants", "show", "acme-retail", "--endpoint-url", "http://127.0.0.1:1"), 3,
               "cannot reach http://127.0.0.1:1", "hubctl local up")
    error_line(run(capsys, "local", "clock", "--endpoint-url", "http://127.0.0.1:1"), 3, "cannot reach http://127.0.0.1:1",
               "hubctl local up")


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(engine, capsys, monkeypatch):
    from hubctl import views

    def broken(hub):
        raise KeyError("meta")

    monkeypatch.setattr(views, "tenant_records", broken)
    error_line(run(capsys, "tenants", "list", "--output", "json"), 4, "unexpected KeyError", "--debug")
    with pytest.raises(KeyError):
        hubctl(["tenants", "list", "--output", "json", "--debug"])

    def interrupted(hub):
        raise KeyboardInterrupt

    monkeypatch.setattr(views, "tenant_records", interrupted)
    code, out, err = run(capsys, "tenants", "list", "--output", "json")
    assert (code, err.strip()) == (130, "hubctl tenants list: interrupted")


# --- global options anywhere, output formats ------------------------------------------------------------

def test_global_options_work_before_and_after_the_command(engine, capsys):
    # After the command, as the AWS CLI allows
    assert run(capsys, "tenants", "show", "acme-retail", "--stack-name", "genai-hub", "--region", "us-east-1")[0] == 0
    error_line(run(capsys, "tenants", "list", "--stack-name", "not-deployed"), 3, "not-deployed")
    # Before it, not overwritten by the command's own (absent) copy of the option
    error_line(run(capsys, "--stack-name", "not-deployed", "tenants", "list"), 3, "not-deployed")
    # Both: the one nearer the end wins
    assert run(capsys, "--stack-name", "not-deployed", "tenants", "list", "--stack-name", "genai-hub")[0] == 0
    assert run(capsys, "--output", "json", "tenants", "list")[1].startswith("[")


def test_json_is_exactly_the_data_with_arns_whole(engine, capsys):
    from conftest import registry_items

    code, out, err = run(capsys, "tenants", "show", "acme-retail", "--output", "json")
    assert code == 0 and err == ""
    shown = json.loads(out)
    grants = {g["model_id"]: g["profile_arn"] for g in shown["grants"]}
    stored = {k.removeprefix("GRANT#"): v["profile_arn"] for k, v in registry_items(engine, "acme-retail").items() if k.startswith("GRANT#")}
    assert shown["status"] == "ACTIVE" and grants == stored
    assert "pk" not in shown and "task_token" not in json.dumps(shown)

    code, out, _ = run(capsys, "tenants", "list", "--output", "json", "--query", "[?status=='ACTIVE'].tenant_id")
    assert code == 0 and json.loads(out) == ["acme-retail"]


def _acme_onboarding(engine) -> dict:
    return next(e for e in engine.executions(engine.outputs["OnboardingStateMachineArn"]) if e["status"] == "SUCCEEDED")


def test_text_is_tab_separated_and_tables_keep_arns_and_names_whole(engine, capsys):
    execution = _acme_onboarding(engine)
    code, out, _ = run(capsys, "executions", "list", "--output", "text",
                        "--query", "[?workflow=='Onboarding' && status=='SUCCEEDED'].[name, status, executionArn]")
    assert code == 0 and out == f"{execution['name']}\tSUCCEEDED\t{execution['executionArn']}\n"

    # The table, piped (as here): each row one line, the ARN and the name whole on it
    code, out, _ = run(capsys, "executions", "list")
    row = next(line for line in out.splitlines() if execution["name"] in line)
    assert code == 0 and execution["executionArn"] in row


def test_executions_show_takes_the_name_list_prints_or_the_arn(engine, capsys):
    execution = _acme_onboarding(engine)
    by_name = run(capsys, "executions", "show", execution["name"])
    by_arn = run(capsys, "executions", "show", execution["executionArn"])
    assert by_name[0] == by_arn[0] == 0 and "Activate tenant" in by_name[1]
    assert by_name[1] == by_arn[1]
    code, out, _ = run(capsys, "executions", "show", execution["name"], "--output", "json", "--query", "{status: status, tenant: input.detail.tenant_id}")
    assert code == 0 and json.loads(out) == {"status": "SUCCEEDED", "tenant": "acme-retail"}


def test_onboard_wait_says_why_it_failed_and_where_the_fix_is(engine, capsys):
    # Given a tenant whose residency has no cross-Region profile for one of its models
    event = sample("onboarding/kyoto-games-no-apac-profile.json")
    engine.deploy_tenant_spoke(event["detail"]["spoke"]["account_id"])

    # When it is onboarded and waited for
    code, out, err = run(capsys, "onboard", "events/onboarding/kyoto-games-no-apac-profile.json", "--wait", "--timeout", "60")

    # Then the states are shown, and the one error line gives the reason the registry recorded
    assert "Create inference profiles" in out
    error_line((code, out, err), 1, "onboarding of kyoto-games ended FAILED: NoProfileForResidency",
               "no cross-Region inference profile", "hubctl tenants show kyoto-games")


def test_every_command_help_teaches_with_an_example_and_the_top_help_documents_the_exit_codes(capsys):
    import argparse

    from hubctl.cli import _parser

    def parsers(parser, path=("hubctl",)):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield (*path, name), sub
                    yield from parsers(sub, (*path, name))

    top = _parser()
    missing = [" ".join(path) for path, sub in parsers(top) if "examples:\n  hubctl" not in sub.format_help()]
    assert missing == []
    text = top.format_help()
    for code in ("0    done", "1    the hub answered no", "2    usage", "3    cannot reach the hub", "4    a bug in hubctl", "130"):
        assert code in text
