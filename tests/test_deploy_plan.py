"""`hubctl deploy plan` and `hubctl deploy check` (the issue: no linking parameter has an emulator default; a
guided path says which account deploys what, in which order, with which values from which outputs, and checks
them before sam deploy). Offline: no AWS call, no engine; the templates and samconfig.toml of the repository."""
import json
import re
import shlex
from pathlib import Path

import pytest

from test_cli_manners import run

from hubctl import deploy

ROOT = Path(__file__).resolve().parent.parent
HUB, RESEARCH, TENANT, TENANT_2 = "210987654321", "345678901234", "456789012345", "567890123456"
EXTERNAL_ID = "4f1c9e2ab7d34c0e8a61f5b2c3d4e5f6"
BUCKET = f"genai-research-artifacts-{RESEARCH}"
GOOD = ["Environment=dev", "LogRetentionDays=30", f"ResearchAccountId={RESEARCH}",
        f"ResearchArtifactBucketName={BUCKET}", f"ResearchExternalId={EXTERNAL_ID}"]




def refused(result: tuple[int, str, str], *says: str) -> list[str]:
    """Exit 2, no traceback, every line on stderr a hubctl error line, and what it must name said on one of them."""
    code, out, err = result
    assert "Traceback" not in out + err, out + err
    assert code == 2, f"exit {code}: {out}{err}"
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("hubctl deploy ") and ": error: " in line for line in lines), err
    for said in says:
        assert any(said in line for line in lines), f"{said!r} not in:\n{err}"
    return lines


@pytest.fixture
def in_root(monkeypatch):
    """Run where sam deploy runs: the repository's root (samconfig.toml, template.yaml)."""
    monkeypatch.chdir(ROOT)


def plan_data(capsys, *extra: str) -> dict:
    code, out, err = run(capsys, "deploy", "plan", "--hub-account", HUB, "--research-account", RESEARCH, "--output", "json", *extra)
    assert code == 0, err
    return json.loads(out)


# --- plan --------------------------------------------------------------------------------------------

def test_the_plan_deploys_the_hub_then_the_spokes_with_every_linking_value(capsys):
    data = plan_data(capsys, "--tenant-account", TENANT, "--tenant-account", TENANT_2, "--external-id", EXTERNAL_ID)
    steps = data["steps"]
    assert [(s["step"], s["account"], s["account_id"], s["stack_name"], s["template"]) for s in steps] == [
        (1, "hub", HUB, "genai-hub", "template.yaml"),
        (2, "tenant", TENANT, "genai-hub-tenant-spoke", "spokes/tenant.yaml"),
        (3, "tenant", TENANT_2, "genai-hub-tenant-spoke", "spokes/tenant.yaml"),
        (4, "research", RESEARCH, "genai-hub-research", "spokes/research.yaml")]
    hub, research = steps[0], steps[3]
    # The hub needs nothing deployed before: its research values are given, the bucket name chosen first.
    assert hub["from_outputs"] == [] and hub["after_steps"] == []
    assert hub["parameters"] == {"Environment": "dev", "LogRetentionDays": "30", "ResearchAccountId": RESEARCH,
                                 "ResearchArtifactBucketName": BUCKET, "ResearchExternalId": EXTERNAL_ID}
    assert hub["commands"][1:] == ["sam build", "sam deploy --config-env dev --stack-name genai-hub --region us-east-1 "
                                   "--parameter-overrides " + " ".join(GOOD)]
    # The research stack: the hub's account and the same ExternalId and bucket; the hub's outputs as placeholders.
    assert research["after_steps"] == [1]
    assert research["parameters"]["HubAccountId"] == HUB
    assert research["parameters"]["ExternalId"] == hub["parameters"]["ResearchExternalId"] == EXTERNAL_ID
    assert research["parameters"]["ArtifactBucketName"] == hub["parameters"]["ResearchArtifactBucketName"]
    assert {f["parameter"]: f["output"] for f in research["from_outputs"]} == {
        "HubEventBusArn": "EventBusArn", "HubImportRoleArn": "ModelImportRoleArn", "HubGrantsVerifierRoleArn": "GrantsVerifierRoleArn"}
    bus = research["from_outputs"][0]
    assert research["parameters"]["HubEventBusArn"] == bus["placeholder"] == f"<output EventBusArn of stack genai-hub in {HUB}>"
    assert bus["read"] == ("aws cloudformation describe-stacks --stack-name genai-hub --region us-east-1 "
                           "--query \"Stacks[0].Outputs[?OutputKey=='EventBusArn'].OutputValue\" --output text")
    assert "--template-file spokes/research.yaml --stack-name genai-hub-research" in research["commands"][-1]
    # The cycle (hub <- research bucket, research <- hub roles) is explained and closed by a check after step 4.
    assert len(data["notes"]) == 1 and "cycle" in data["notes"][0] and "docs/deploying.md" in data["notes"][0]
    assert research["after"][0]["expect"] == BUCKET and "OutputKey=='ArtifactBucketName'" in research["after"][0]["command"]
    for tenant in steps[1:3]:
        assert tenant["optional"] and tenant["after_steps"] == [1]
        assert tenant["parameters"] == {"HubCredentialsFunctionArn": f"<output TenantCredentialsFunctionArn of stack genai-hub in {HUB}>"}


def test_the_plan_as_text_says_which_account_runs_what_in_order(capsys):
    code, out, err = run(capsys, "deploy", "plan", "--hub-account", HUB, "--research-account", RESEARCH,
                         "--tenant-account", TENANT, "--region", "eu-central-1", "--research-region", "eu-west-1")
    assert code == 0, err
    hub, tenant, research = (out.index(f"{n}. {who} account {account}") for n, who, account in
                             ((1, "hub", HUB), (2, "tenant", TENANT), (3, "research", RESEARCH)))
    assert hub < tenant < research
    external_id = re.search(r"ExternalId: (\S+) \(generated", out).group(1)
    assert re.fullmatch(r"[0-9a-f]{32}", external_id) and "same value on both sides" in out
    assert f"ResearchExternalId={external_id}" in out and f"ExternalId={external_id} " in out
    assert "ResearchRegion=eu-west-1" in out and "--template-file spokes/research.yaml --stack-name genai-hub-research --region eu-west-1" in out
    assert f"read with account {HUB}'s credentials" in out and "Cycle:" in out


def test_each_plan_generates_a_new_external_id(capsys):
    assert plan_data(capsys)["external_id"] != plan_data(capsys)["external_id"]


@pytest.mark.parametrize("argv,says", [
    (["--hub-account", "123456789012", "--research-account", RESEARCH], "--hub-account 123456789012: an id of the local emulation"),
    (["--hub-account", HUB, "--research-account", "111111111111"], "--research-account 111111111111: an id of the local emulation"),
    (["--hub-account", HUB, "--research-account", RESEARCH, "--tenant-account", "222222222222"], "--tenant-account 222222222222"),
    (["--hub-account", "12345", "--research-account", RESEARCH], "--hub-account 12345: not an AWS account id"),
    (["--hub-account", HUB, "--research-account", RESEARCH, "--external-id", "has space"], "--external-id"),
    (["--hub-account", HUB, "--research-account", RESEARCH, "--external-id", "short"], "--external-id ****: at least 8 characters"),
    (["--hub-account", HUB, "--research-account", RESEARCH, "--region", "us-east-9"], "--region us-east-9"),
    (["--hub-account", HUB, "--research-account", RESEARCH, "--config-env", "staging"], "--config-env staging"),
    (["--hub-account", HUB, "--research-account", RESEARCH, "--endpoint-url", "http://127.0.0.1:4566"], "--endpoint-url"),
], ids=["emulator hub", "emulator research", "emulator tenant", "short id", "external id with a space",
        "external id too short", "region", "config env", "endpoint"])
def test_the_plan_refuses_bad_flags(capsys, argv, says):
    refused(run(capsys, "deploy", "plan", *argv), says)


def test_the_links_are_the_templates_own():
    templates = deploy._stack_templates()  # raises when a link names a missing parameter or output, or one is unfilled
    for key, stack in deploy.STACKS.items():
        parameters = templates[key]["Parameters"]
        linked = {link.parameter for link in deploy.LINKS if link.stack == key}
        assert {p for p, spec in parameters.items() if "Default" not in spec} <= linked, stack.template
        assert not [link for link in deploy.LINKS if link.stack == key and link.required and "Default" in parameters[link.parameter]]
    # The templates' own words: "Parameter P of spokes/S.yaml" on an output, "Output O of ..." on a parameter.
    pairs = {(link.stack, link.parameter, link.output) for link in deploy.LINKS if link.output}
    said = 0
    for key, template in templates.items():
        for output, spec in template.get("Outputs", {}).items():
            for parameter, file in re.findall(r"Parameter (\w+) of (spokes/\w+\.yaml)", spec.get("Description", "")):
                spoke = next(k for k, s in deploy.STACKS.items() if s.template == file)
                assert (spoke, parameter, (key, output)) in pairs, f"{output} -> {file} {parameter}"
                said += 1
        for parameter, spec in template["Parameters"].items():
            output = re.search(r"Output (\w+) of", spec.get("Description", ""))
            if output:
                assert any(p == parameter and s == key and o[1] == output.group(1) for s, p, o in pairs), parameter
                said += 1
    assert said >= 5  # ModelImportRoleArn, GrantsVerifierRoleArn, TenantCredentialsFunctionArn; two parameters


def test_a_cycle_no_chosen_value_breaks_is_refused(monkeypatch):
    ordered, broken = deploy.order()
    assert ordered == ["hub", "tenant", "research"] and [link.parameter for link in broken] == ["ResearchArtifactBucketName"]
    unbroken = tuple(deploy.Link(**{**link.__dict__, "chosen": None}) for link in deploy.LINKS)
    monkeypatch.setattr(deploy, "LINKS", unbroken)
    with pytest.raises(deploy.HubctlError, match="need each other's outputs"):
        deploy.order()


# --- check -------------------------------------------------------------------------------------------

def test_check_accepts_the_values_of_a_real_deploy(capsys, in_root):
    code, out, err = run(capsys, "deploy", "check", "--config-env", "dev", "--parameter-overrides", *GOOD)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ready: template.yaml in us-east-1")
    assert f"ResearchAccountId={RESEARCH}" in out and "ResearchExternalId=****" in out and EXTERNAL_ID not in out


def test_check_reads_a_samconfig_environment_as_sam_does(capsys, tmp_path, monkeypatch):
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[staging.global.parameters]\nregion = "eu-central-1"\n'
        f'[staging.deploy.parameters]\nparameter_overrides = "{" ".join(GOOD)}"\n')
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "deploy", "check", "--config-env", "staging", "--template", str(ROOT / "template.yaml"))
    assert code == 0, err
    assert "in eu-central-1" in out and "[staging.deploy.parameters] in samconfig.toml" in out


def test_check_of_the_repository_samconfig_alone_names_every_missing_linking_parameter(capsys, in_root):
    lines = refused(run(capsys, "deploy", "check", "--config-env", "prod"),
                    "ResearchAccountId: missing", "ResearchArtifactBucketName: missing", "ResearchExternalId: missing")
    assert all("[prod.deploy.parameters] in samconfig.toml" in line for line in lines)


def _without(name: str) -> list[str]:
    return [p for p in GOOD if not p.startswith(f"{name}=")]


def _with(name: str, value: str) -> list[str]:
    return [*_without(name), f"{name}={value}"]


CHECK_CASES = {
    "moto's hub account as research": (_with("ResearchAccountId", "123456789012"), "ResearchAccountId=123456789012: an id of the local emulation"),
    "the emulation's research account": (_with("ResearchAccountId", "111111111111"), "ResearchAccountId=111111111111: an id of the local emulation"),
    "a sample tenant's account": (_with("ResearchAccountId", "222222222222"), "an id of the local emulation"),
    "not 12 digits": (_with("ResearchAccountId", "34567890123"), "ResearchAccountId=34567890123: not an AWS account id"),
    "missing account": (_without("ResearchAccountId"), "ResearchAccountId: missing"),
    "missing ExternalId": (_without("ResearchExternalId"), "ResearchExternalId: missing"),
    "missing bucket": (_without("ResearchArtifactBucketName"), "ResearchArtifactBucketName: missing"),
    "ExternalId with a space": (_without("ResearchExternalId") + ['ResearchExternalId="abc def ghi"'], "ResearchExternalId=****: IAM accepts"),
    "ExternalId with a character IAM refuses": (_with("ResearchExternalId", "abcdefgh#1"), "ResearchExternalId=****: IAM accepts"),
    "ExternalId too long": (_with("ResearchExternalId", "a" * 1225), "ResearchExternalId=****: IAM accepts"),
    "ExternalId shorter than the template's MinLength": (_with("ResearchExternalId", "abc"), "ResearchExternalId=****: at least 8"),
    "the emulation's ExternalId": (_with("ResearchExternalId", "research-hub-external-id"), "the local emulation's ExternalId"),
    "bucket with capitals": (_with("ResearchArtifactBucketName", "Genai-Research"), "ResearchArtifactBucketName=Genai-Research: not a valid S3 bucket name"),
    "bucket too short": (_with("ResearchArtifactBucketName", "ab"), "not a valid S3 bucket name (3 to 63"),
    "bucket with two periods": (_with("ResearchArtifactBucketName", "genai..research"), "no two adjacent periods"),
    "bucket as an IP address": (_with("ResearchArtifactBucketName", "192.168.5.4"), "not an IP address"),
    "bucket with a reserved prefix": (_with("ResearchArtifactBucketName", "xn--research"), "reserved prefixes"),
    "bucket with a reserved suffix": (_with("ResearchArtifactBucketName", "research-s3alias"), "reserved prefixes"),
    "bucket of another account": (_with("ResearchArtifactBucketName", "genai-research-artifacts-456789012345"), "names account 456789012345"),
    "unknown parameter": ([*GOOD, "Colour=blue"], "Colour: not a parameter of template.yaml"),
    "value outside AllowedValues": (_with("Environment", "staging"), "Environment=staging: not one of dev, prod"),
    "ResearchRegion not a Region": ([*GOOD, "ResearchRegion=eu-west-9"], "ResearchRegion=eu-west-9: not an AWS Region"),
    "a plan's placeholder left": (_with("ResearchArtifactBucketName", "<output ArtifactBucketName of stack genai-hub-research in 345678901234>"),
                                  "still a placeholder"),
}


@pytest.mark.parametrize("overrides,says", CHECK_CASES.values(), ids=CHECK_CASES.keys())
def test_check_refuses_each_kind_of_bad_value_naming_the_parameter(capsys, in_root, overrides, says):
    refused(run(capsys, "deploy", "check", "--config-env", "dev", "--parameter-overrides", *overrides), says)


def test_check_never_shows_a_noecho_value(capsys, in_root):
    _, out, err = run(capsys, "deploy", "check", "--parameter-overrides", *_with("ResearchExternalId", "secret#value"))
    assert "secret" not in out + err and "ResearchExternalId=****" in err


@pytest.mark.parametrize("argv,says", [
    (["--config-env", "staging"], "--config-env staging: no such environment in samconfig.toml (it has: default, dev, prod)"),
    (["--config-file", "missing.toml"], "--config-file missing.toml: no such file"),
    (["--template", "missing.yaml", "--parameter-overrides", *GOOD], "missing.yaml: no such template"),
    (["--region", "mars-1", "--parameter-overrides", *GOOD], "region (--region): not an AWS Region"),
    (["--parameter-overrides", "ResearchAccountId"], "'ResearchAccountId' is not KEY=VALUE"),
    (["--parameter-overrides", "ResearchExternalId='unclosed"], "cannot be read"),
    (["--output", "json", "--parameter-overrides", *GOOD], "--output json"),
], ids=["unknown config env", "missing samconfig", "missing template", "region", "not KEY=VALUE", "bad quoting", "--output"])
def test_check_refuses_bad_input_in_one_line(capsys, in_root, argv, says):
    assert len(refused(run(capsys, "deploy", "check", *argv), says)) == 1


def test_check_refuses_a_samconfig_that_is_not_toml(capsys, tmp_path):
    (tmp_path / "samconfig.toml").write_text("[dev.deploy.parameters\nregion = ")
    refused(run(capsys, "deploy", "check", "--config-file", str(tmp_path / "samconfig.toml"), "--config-env", "dev",
                "--template", str(ROOT / "template.yaml")), "not valid TOML")


def test_check_refuses_a_template_that_gives_a_linking_parameter_a_default(capsys, tmp_path):
    text = (ROOT / "spokes" / "research.yaml").read_text()
    patched = text.replace("  HubAccountId:\n    Type: String\n", "  HubAccountId:\n    Type: String\n    Default: \"111111111111\"\n")
    assert patched != text
    (tmp_path / "research.yaml").write_text(patched)
    refused(run(capsys, "deploy", "check", "--template", str(tmp_path / "research.yaml"), "--region", "us-east-1",
                "--parameter-overrides", "HubAccountId=210987654321"), "parameter HubAccountId has a Default")


# --- round trip: the plan's own check commands, placeholders filled as the hub's outputs would be -----------

OUTPUTS = {
    "EventBusArn": f"arn:aws:events:us-east-1:{HUB}:event-bus/genai-hub-bus",
    "ModelImportRoleArn": f"arn:aws:iam::{HUB}:role/genai-hub-model-import",
    "GrantsVerifierRoleArn": f"arn:aws:iam::{HUB}:role/genai-hub-grants-verifier",
    "TenantCredentialsFunctionArn": f"arn:aws:lambda:us-east-1:{HUB}:function:genai-hub-VendTenantCredentials-1A2B3C",
}


def _filled(command: str, step: dict) -> str:
    """The command with each <output ...> placeholder replaced by what describe-stacks would print."""
    for found in step["from_outputs"]:
        command = command.replace(shlex.quote(f"{found['parameter']}={found['placeholder']}"),
                                  f"{found['parameter']}={OUTPUTS[found['output']]}")
    return command


def test_the_plan_values_pass_check(capsys, in_root):
    data = plan_data(capsys, "--tenant-account", TENANT)
    for step in data["steps"]:
        check, deploy_command = _filled(step["commands"][0], step), _filled(step["commands"][-1], step)
        assert "<output" not in check + deploy_command
        # check is given exactly the --parameter-overrides of the step's sam deploy
        assert check.split("--parameter-overrides ")[1] == deploy_command.split("--parameter-overrides ")[1]
        argv = shlex.split(check)
        assert argv[:3] == ["hubctl", "deploy", "check"]
        code, out, err = run(capsys, *argv[1:])
        assert code == 0, f"step {step['step']}: {check}\n{err}"
        assert out.startswith(f"ready: {step['template']} in us-east-1")


def test_check_refuses_hub_outputs_of_another_account(capsys, in_root):
    wrong = OUTPUTS["ModelImportRoleArn"].replace(HUB, TENANT)
    refused(run(capsys, "deploy", "check", "--template", "spokes/research.yaml", "--region", "us-east-1", "--parameter-overrides",
                f"HubAccountId={HUB}", f"HubEventBusArn={OUTPUTS['EventBusArn']}", f"HubImportRoleArn={wrong}",
                f"HubGrantsVerifierRoleArn={OUTPUTS['GrantsVerifierRoleArn']}", f"ExternalId={EXTERNAL_ID}"),
            f"HubImportRoleArn={wrong}: its account {TENANT} is not HubAccountId {HUB}")


# --- the emulation's ids are all refused -------------------------------------------------------------------

def test_every_account_id_of_the_emulation_is_refused():
    from hubsim import engine

    ids = {engine.HUB_ACCOUNT, engine.RESEARCH_ACCOUNT, f"{900000000000:012d}"}
    for sample in (ROOT / "events").rglob("*.json"):
        ids |= set(re.findall(r'"(?:spoke_)?account_id":\s*"([0-9]{12})"', sample.read_text()))
    assert len(ids) > 5
    for account in ids:
        assert "local emulation" in deploy.account_problem(account), account
    assert deploy.external_id_problem(engine.RESEARCH_EXTERNAL_ID)
    assert deploy.account_problem(HUB) is None and deploy.external_id_problem(EXTERNAL_ID) is None


def test_help_has_examples(capsys):
    for action in ("plan", "check"):
        code, out, _ = run(capsys, "deploy", action, "--help")
        assert code == 0 and "examples:" in out and f"hubctl deploy {action}" in out
