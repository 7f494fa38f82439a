"""Least privilege proven by use: which statements of the hub's roles allowed something in this run.

hubsim.patches.authz counts, for every call it allows, the identity-policy statements that allowed
it (`authz.allowed_by`: role, policy, statement index). Each pytest worker writes its counts at the
end of its session; the controller merges them and sets them against every statement of every
role the hub template deploys (after SAM translation). A statement that allowed nothing in a full
run is either not needed (remove it) or needed in a way no test exercises: then it is listed, with
the reason, in tests/least_privilege_justified.json. The summary shows the figures; a full run
(every test selected, all passing) fails when a statement is neither used nor justified, and when
a justification names a statement that no longer exists or that the run did use.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIR_ENV = "HUBSIM_LEAST_PRIVILEGE_DIR"
JUSTIFIED = Path(__file__).with_name("least_privilege_justified.json")
STACK = "genai-hub"


def pytest_configure(config):
    if not hasattr(config, "workerinput") and DIR_ENV not in os.environ:
        os.environ[DIR_ENV] = tempfile.mkdtemp(prefix="hubsim-least-privilege-")  # workers inherit it


def pytest_sessionfinish(session):
    directory = os.environ.get(DIR_ENV)
    if not directory:
        return
    from hubsim.patches import authz

    worker = getattr(session.config, "workerinput", {}).get("workerid", "controller")
    Path(directory, f"{worker}.json").write_text(json.dumps([[*key, count] for key, count in authz.allowed_by.items()]))


def _sub(value, logical_ids: dict) -> str | None:
    """A role or policy name as CloudFormation resolves it for the stack `genai-hub`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"].replace("${AWS::StackName}", STACK)
    return None


def statements() -> dict[tuple[str, str, int], dict]:
    """(role key, policy name, index) -> statement, for every inline and customer-managed policy
    statement attached to a role of the translated template. Role key: the role's name, or
    genai-hub-<LogicalId> for a generated one (CloudFormation appends a random suffix)."""
    from test_security_static import _packaged  # the template as `sam package` leaves it

    from hubsim.deploy import translate
    from hubsim.engine import LOCAL_PARAMETERS

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # samtranslator needs a Region
    resources = translate(_packaged(ROOT / "template.yaml"), LOCAL_PARAMETERS)["Resources"]
    found: dict = {}
    roles = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    for lid, role in roles.items():
        props = role["Properties"]
        key = _sub(props.get("RoleName"), resources) or f"{STACK}-{lid}"
        for policy in props.get("Policies", []):
            for index, statement in enumerate(_list(policy["PolicyDocument"].get("Statement"))):
                found[(key, policy["PolicyName"], index)] = statement
        for arn in props.get("ManagedPolicyArns", []):
            ref = arn.get("Ref") if isinstance(arn, dict) else None
            if ref in resources and resources[ref]["Type"] == "AWS::IAM::ManagedPolicy":
                name = _sub(resources[ref]["Properties"].get("ManagedPolicyName"), resources) or f"{STACK}-{ref}"
                for index, statement in enumerate(_list(resources[ref]["Properties"]["PolicyDocument"].get("Statement"))):
                    found[(key, name, index)] = statement
    return found


def _list(value) -> list:
    return value if isinstance(value, list) else [value] if value else []


_SUFFIX = re.compile(r"-[A-Z0-9]{8,16}$")


def _normal(name: str) -> str:
    """A physical name without the random suffix CloudFormation gives generated names."""
    return _SUFFIX.sub("", name) if name.startswith(f"{STACK}-") else name


def used() -> dict[tuple[str, str, int], int]:
    directory = os.environ.get(DIR_ENV)
    counts: dict = {}
    for path in Path(directory).glob("*.json") if directory else ():
        for role, policy, index, count in json.loads(path.read_text()):
            key = (_normal(role), _normal(policy), index)
            counts[key] = counts.get(key, 0) + count
    return counts


def _label(key, statement: dict) -> str:
    role, policy, index = key
    actions = statement.get("Action") or statement.get("NotAction")
    return f"{role} / {policy} #{index}" + (f" ({statement['Sid']})" if statement.get("Sid") else "") + f": {actions}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput") or not os.environ.get(DIR_ENV):
        return
    counts = used()
    if not counts:
        return
    every = {k: st for k, st in statements().items() if st.get("Effect") == "Allow"}  # a Deny grants nothing
    denies = len(statements()) - len(every)
    justified = json.loads(JUSTIFIED.read_text()) if JUSTIFIED.exists() else {}
    needed = {k for k in every if counts.get(k)}
    unused = [k for k in every if k not in needed]
    unjustified = [k for k in unused if _label(k, every[k]).split(":")[0] not in justified]
    stale = [j for j in justified if j not in {_label(k, every[k]).split(":")[0] for k in unused}]
    write = terminalreporter.write_line
    terminalreporter.section("least privilege (hubsim.patches.authz)")
    write(f"statements checked: {len(every)} Allow statements (every inline and customer-managed policy of the "
          f"template's roles; {denies} Deny statements are guards, proven by the tests of refusals)")
    write(f"statements needed (allowed at least one call): {len(needed)}")
    write(f"statements justified without a call: {len(unused) - len(unjustified)} (tests/least_privilege_justified.json)")
    complete = (exitstatus == 0 and not config.option.keyword and not config.option.markexpr and not config.option.deselect
                and all(Path(arg).is_dir() for arg in config.args)
                and sum(len(terminalreporter.stats.get(k, [])) for k in ("passed", "skipped")) > 300)
    if not complete:
        write("(a partial run: unused statements are listed and enforced only in a full run)")
        return
    for key in unjustified:
        write(f"  UNUSED, not justified: {_label(key, every[key])}")
    for label in stale:
        write(f"  justification for a statement that is used or gone: {label}")
    if unjustified or stale:
        write("least privilege: a full run must use or justify every statement (see above)", red=True)
        terminalreporter._session.exitstatus = 1
