"""`hubctl deploy plan` and `hubctl deploy check`: the guided path to AWS, offline (no AWS call).

No template parameter that links one account to another has a default (a default would be a guess at
an account the hub then trusts), so a deploy needs values from the person deploying and from the
outputs of stacks deployed before. `plan` says which account deploys which stack with which exact
command, in which order, and where each linking value comes from; `check` reads the values `sam deploy`
would use (samconfig.toml and --parameter-overrides, as sam reads them) and refuses, one line per
problem, what would deploy a hub that cannot work: a missing linking parameter, an account id of the
local emulation, an ExternalId IAM would refuse, a bucket name S3 would refuse, a Region that is not one.

The links (LINKS) are declared here and checked against the templates every time they are read: each
parameter and output named must exist, a linking parameter must have no Default, and a template parameter
without a Default that no link fills stops the plan (the plan never prints a command CloudFormation would
refuse). The order of the stacks is derived from the links: a stack comes after the stacks whose outputs
it needs. The templates imply one cycle (the hub needs the research stack's ArtifactBucketName, the
research stack needs the hub's role and bus ARNs); it is broken as docs/deploying.md does: the bucket name
is chosen first, given to both stacks, and compared with the research stack's output after it is deployed.
"""
import argparse
import ipaddress
import os
import re
import secrets
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hubctl.errors import BUG, HubctlError, UsageError

ROOT = Path(__file__).resolve().parent.parent


# --- what links the stacks ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stack:
    key: str            # hub, tenant, research: also the account that deploys it
    template: str       # relative to the repository root, as the commands name it
    suffix: str         # its stack name is the hub's (--stack-name) plus this
    capabilities: str


# In the order the docs give when the links leave a choice: the hub, each tenant's spoke, the research stack.
STACKS = {
    "hub": Stack("hub", "template.yaml", "", "CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND"),
    "tenant": Stack("tenant", "spokes/tenant.yaml", "-tenant-spoke", "CAPABILITY_NAMED_IAM"),
    "research": Stack("research", "spokes/research.yaml", "-research", "CAPABILITY_NAMED_IAM"),
}


@dataclass(frozen=True)
class Link:
    """A parameter of one stack whose value links it to another account or stack. Its value is one of the
    plan's own (`given`: a key of the plan's values), an output of another stack (`output`), or, where that
    output closes a cycle, a value chosen first (`chosen`, formatted with the plan's values) that the output
    must then equal. `kind` says which real-world rules the value must follow (see _KIND_CHECKS)."""

    stack: str
    parameter: str
    kind: str
    what: str           # what to give, for a person: the fix of a missing or wrong value
    given: str | None = None
    output: tuple[str, str] | None = None
    chosen: str | None = None
    required: bool = True        # no Default in the template: it must be given
    same_account_as: str | None = None   # an ARN: its account must be this parameter's value

    def value(self, values: dict) -> str | None:
        if self.chosen is not None:
            return self.chosen.format(**values)
        return values.get(self.given) if self.given else None


BUCKET = "genai-research-artifacts-{research_account}"  # spokes/research.yaml's name when ArtifactBucketName is empty

LINKS = (
    Link("hub", "ResearchAccountId", "account", "the research account's id (12 digits)", given="research_account"),
    Link("hub", "ResearchArtifactBucketName", "bucket", f"the research bucket's name, e.g. {BUCKET.format(research_account='<research account>')}",
         output=("research", "ArtifactBucketName"), chosen=BUCKET),
    Link("hub", "ResearchExternalId", "external_id", "the ExternalId agreed with the research account (hubctl deploy plan generates one)",
         given="external_id"),
    Link("hub", "ResearchRegion", "region", "the research account's Region (empty: the hub's)", given="research_region", required=False),
    Link("tenant", "HubCredentialsFunctionArn", "arn", "output TenantCredentialsFunctionArn of the hub stack",
         output=("hub", "TenantCredentialsFunctionArn")),
    Link("research", "HubAccountId", "account", "the hub account's id (12 digits)", given="hub_account"),
    Link("research", "HubEventBusArn", "arn", "output EventBusArn of the hub stack", output=("hub", "EventBusArn"),
         same_account_as="HubAccountId"),
    Link("research", "HubImportRoleArn", "arn", "output ModelImportRoleArn of the hub stack", output=("hub", "ModelImportRoleArn"),
         same_account_as="HubAccountId"),
    Link("research", "HubGrantsVerifierRoleArn", "arn", "output GrantsVerifierRoleArn of the hub stack",
         output=("hub", "GrantsVerifierRoleArn"), same_account_as="HubAccountId"),
    Link("research", "ExternalId", "external_id", "the hub's ResearchExternalId (the same value on both sides)", given="external_id"),
    Link("research", "ArtifactBucketName", "bucket", "the hub's ResearchArtifactBucketName (the same value on both sides)",
         chosen=BUCKET, required=False),
)

# The local emulation's accounts (hubsim): the hub is moto's default account (hubsim.engine.HUB_ACCOUNT),
# the research account hubsim.engine.RESEARCH_ACCOUNT, the tenants' spoke accounts those of the sample
# events (events/onboarding), hubsim.seed's scale tenants 9000000000NN, and the end-to-end tests' fake
# spoke 000000000000. A deploy naming one of them is a local command line copied to AWS.
# tests/test_deploy_plan.py keeps this list in step with hubsim and events/.
EMULATOR_ACCOUNTS = {
    "123456789012": "hub account, moto's default",
    "111111111111": "research account",
    **{f"{d}" * 12: "sample tenants' account, events/onboarding" for d in "23456789"},
    "101010101010": "sample tenants' account, events/onboarding",
    "000000000000": "end-to-end tests' fake spoke account",
    **{f"{900000000000 + n:012d}": "scale tenants' account, hubsim.seed" for n in range(100)},
}
EMULATOR_EXTERNAL_IDS = {"research-hub-external-id", "e2e-external-id"}  # hubsim.engine.RESEARCH_EXTERNAL_ID, tests/e2e

# sts:ExternalId as IAM accepts it: 2 to 1224 characters of [\w+=,.@:/-] (the AssumeRole API reference,
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html, request parameter ExternalId;
# botocore's sts model, shape externalIdType, says the same). \w there is Java's: ASCII letters, digits, _.
EXTERNAL_ID = re.compile(r"[A-Za-z0-9_+=,.@:/-]{2,1224}")

# S3 general purpose bucket naming rules:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

PLAN_EPILOG = """examples:
  hubctl deploy plan --hub-account 210987654321 --research-account 345678901234
  hubctl deploy plan --hub-account 210987654321 --research-account 345678901234 --tenant-account 456789012345 \\
      --region eu-central-1 --config-env prod --external-id "$(openssl rand -hex 16)"
  hubctl deploy plan --hub-account 210987654321 --research-account 345678901234 --output json

Offline: prints each step in order (which account, which stack, the exact sam deploy command with
every linking parameter filled) and, for a value that is an earlier stack's output, a placeholder
<output NAME of stack STACK in ACCOUNT> and the describe-stacks command that reads it. Without
--external-id a random one is generated: keep it, both stacks need the same value.
"""

CHECK_EPILOG = """examples:
  hubctl deploy check --config-env prod           samconfig.toml's [prod.deploy.parameters]
  hubctl deploy check --config-env dev --parameter-overrides Environment=dev LogRetentionDays=30 \\
      ResearchAccountId=345678901234 ResearchArtifactBucketName=genai-research-artifacts-345678901234 \\
      ResearchExternalId=4f1c...
  hubctl deploy check --template spokes/research.yaml --region us-east-1 --parameter-overrides HubAccountId=...

Offline: reads the values sam deploy would use (a --parameter-overrides replaces samconfig's
parameter_overrides, as it does for sam) and checks them against the template's Parameters, IAM's
ExternalId rules, S3's bucket naming rules and the Regions botocore knows. Exit 0: one "ready" line;
exit 2: one line per problem, naming the parameter and the fix.
"""


def add_parser(sub) -> None:
    deploy = sub.add_parser(
        "deploy", help="deploy to AWS: the ordered sam deploy commands of each account, and a check of their values",
        epilog="examples:\n  hubctl deploy plan --hub-account 210987654321 --research-account 345678901234\n"
               "  hubctl deploy check --config-env prod --parameter-overrides ...",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = deploy.add_subparsers(dest="action", metavar="ACTION", required=True)
    plan = actions.add_parser(
        "plan", help="the steps of a deploy: which account runs which sam deploy, in which order, with which values",
        epilog=PLAN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    plan.add_argument("--hub-account", metavar="ID", required=True, help="the account of the hub stack (12 digits)")
    plan.add_argument("--research-account", metavar="ID", required=True, help="the research account (spokes/research.yaml)")
    plan.add_argument("--tenant-account", metavar="ID", action="append", default=[],
                      help="a tenant account that deploys spokes/tenant.yaml (optional; repeat for each)")
    plan.add_argument("--research-region", metavar="REGION",
                      help="the research account's Region (default: the hub's, --region); the hub's ResearchRegion")
    plan.add_argument("--external-id", metavar="X", help="the ExternalId of the research account's grants-reader role "
                                                         "(default: a random one, printed once)")
    plan.add_argument("--config-env", metavar="ENV", default="dev",
                      help="the samconfig.toml environment of the hub's sam deploy (default dev); its Region is the default --region")
    check = actions.add_parser(
        "check", help="check the values sam deploy would use, before deploying: every linking parameter, accounts, "
                      "ExternalId, bucket names, Region",
        epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("--config-env", metavar="ENV", help="the samconfig.toml environment, as sam deploy's (default: default)")
    check.add_argument("--config-file", metavar="FILE", help="the sam configuration (default: samconfig.toml, read when present)")
    check.add_argument("--template", metavar="FILE", default="template.yaml",
                       help="the template to deploy (default template.yaml; spokes/research.yaml, spokes/tenant.yaml)")
    check.add_argument("--parameter-overrides", metavar="KEY=VALUE", nargs="+",
                       help="as given to sam deploy (replaces samconfig's parameter_overrides), one or more KEY=VALUE")


def run(args, query) -> int:
    """Both commands are offline: the local emulation deploys itself (hubctl local up)."""
    if args.endpoint_url:
        raise UsageError(f"--endpoint-url {args.endpoint_url}: hubctl deploy {args.action} is for AWS and calls nothing; "
                         "the local emulation deploys its own stacks (hubctl local up)")
    if args.action == "plan":
        from hubctl import output

        data = plan(args)
        output.show(output.Shown(data=lambda: data, table=lambda: print_plan(data)), args.output, query)
        return 0
    return check(args)


# --- templates ----------------------------------------------------------------------------------------

def _template(path: Path) -> dict:
    """The template with CloudFormation's tags read as the emulation reads them (hubsim.deploy)."""
    from hubsim.deploy import DeployError, load_template

    if not path.is_file():
        raise UsageError(f"{path}: no such template: run in the repository's root or pass --template FILE")
    try:
        template = load_template(path)
    except (DeployError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read as a template ({exc})") from None
    if not isinstance(template, dict) or not isinstance(template.get("Parameters", {}), dict):
        raise UsageError(f"{path}: not a CloudFormation template (no Parameters mapping)")
    return template


def _default_problems(key: str, template: dict, name: str) -> list[str]:
    """A linking parameter with a Default: there must be none (a default is a guess at another account, and
    sam deploy --guided offers defaults that Enter accepts)."""
    parameters = template.get("Parameters", {})
    return [f"{name}: parameter {link.parameter} has a Default ({parameters[link.parameter]['Default']!r}): a linking "
            "parameter must have none (a default is a guess at another account); remove it from the template"
            for link in LINKS if link.stack == key and link.required and "Default" in parameters.get(link.parameter, {})]


def _bug(message: str, problems: list[str] | None = None) -> HubctlError:
    """The repository's templates and LINKS disagree: not the user's input, hubctl's (exit 4)."""
    error = HubctlError(message, problems)
    error.code = BUG
    return error


def _stack_templates() -> dict[str, dict]:
    """The three templates of this repository, with LINKS checked against them."""
    templates = {key: _template(ROOT / stack.template) for key, stack in STACKS.items()}
    problems = []
    for key, stack in STACKS.items():
        problems += _default_problems(key, templates[key], stack.template)
        linked = {link.parameter for link in LINKS if link.stack == key}
        problems += [f"{stack.template}: parameter {p} has no Default and hubctl deploy does not know where its value "
                     "comes from: give it a Default or add a Link to hubctl/deploy.py LINKS"
                     for p, spec in templates[key].get("Parameters", {}).items() if "Default" not in spec and p not in linked]
    for link in LINKS:
        if link.parameter not in templates[link.stack].get("Parameters", {}):
            problems.append(f"{STACKS[link.stack].template}: no parameter {link.parameter} (hubctl/deploy.py LINKS names it)")
        if link.output and link.output[1] not in templates[link.output[0]].get("Outputs", {}):
            problems.append(f"{STACKS[link.output[0]].template}: no output {link.output[1]} (hubctl/deploy.py LINKS names it)")
    if problems:
        raise _bug("the templates and hubctl/deploy.py disagree", problems)
    return templates


def order() -> tuple[list[str], list[Link]]:
    """The stacks in deploy order (each after the stacks whose outputs it needs) and the links that close a
    cycle, broken by a value chosen first. A cycle no chosen value breaks is a template bug."""
    after = {key: set() for key in STACKS}
    broken = []
    for link in LINKS:
        if link.output:
            if link.chosen:
                broken.append(link)
            else:
                after[link.stack].add(link.output[0])
    ordered: list[str] = []
    while len(ordered) < len(STACKS):
        ready = [key for key in STACKS if key not in ordered and after[key] <= set(ordered)]
        if not ready:
            left = sorted(set(STACKS) - set(ordered))
            raise _bug(f"the stacks {', '.join(left)} need each other's outputs and no value is chosen first: "
                              "see docs/deploying.md and hubctl/deploy.py LINKS")
        ordered.append(ready[0])
    return ordered, [link for link in broken if _needs(link.output[0], link.stack, after)]


def _needs(stack: str, other: str, after: dict[str, set]) -> bool:
    """Whether `stack` needs `other`'s outputs, directly or through other stacks (a cycle when `other`
    needs `stack` too)."""
    seen, todo = set(), [stack]
    while todo:
        for needed in after[todo.pop()] - seen:
            if needed == other:
                return True
            seen.add(needed)
            todo.append(needed)
    return False


# --- checks of one value ------------------------------------------------------------------------------
# Each returns why the value is wrong, or None; the caller names the parameter or flag.

def account_problem(value: str) -> str | None:
    if not re.fullmatch(r"[0-9]{12}", value):
        return "not an AWS account id (12 digits; `aws sts get-caller-identity --query Account` prints it)"
    if value in EMULATOR_ACCOUNTS:
        return (f"an id of the local emulation (its {EMULATOR_ACCOUNTS[value]}), not a real account: give the real "
                "account's id (`aws sts get-caller-identity --query Account` with its credentials)")
    return None


def external_id_problem(value: str) -> str | None:
    if value in EMULATOR_EXTERNAL_IDS:
        return "the local emulation's ExternalId: choose a new one, e.g. `openssl rand -hex 16`"
    if not EXTERNAL_ID.fullmatch(value):
        return (f"IAM accepts 2 to 1224 characters of letters, digits and _+=,.@:/- (this one has {len(value)}"
                f"{', with others' if re.search(r'[^A-Za-z0-9_+=,.@:/-]', value) else ''}): e.g. `openssl rand -hex 16`")
    return None


def bucket_problem(value: str) -> str | None:
    """S3's rules for a general purpose bucket's name (BUCKET_NAME's page)."""
    rule = None
    if not 3 <= len(value) <= 63:
        rule = f"3 to 63 characters, not {len(value)}"
    elif re.search(r"[^a-z0-9.-]", value):
        rule = "lowercase letters, digits, '.' and '-' only"
    elif not BUCKET_NAME.fullmatch(value):
        rule = "a letter or digit first and last"
    elif ".." in value:
        rule = "no two adjacent periods"
    elif _is_ip(value):
        rule = "not an IP address"
    elif value.startswith(BUCKET_PREFIXES) or value.endswith(BUCKET_SUFFIXES):
        rule = f"none of the reserved prefixes {', '.join(BUCKET_PREFIXES)} or suffixes {', '.join(BUCKET_SUFFIXES)}"
    return f"not a valid S3 bucket name ({rule})" if rule else None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
        return True
    except ValueError:
        return False


def regions() -> set[str]:
    """The Regions of the partitions a hub can be deployed in, as the installed botocore knows them (offline)."""
    import botocore.session

    session = botocore.session.get_session()
    return {region for partition in ("aws", "aws-cn", "aws-us-gov")
            for region in session.get_available_regions("cloudformation", partition_name=partition)}


def region_problem(value: str) -> str | None:
    if value and value not in regions():
        return "not an AWS Region botocore knows (e.g. us-east-1, eu-central-1; a new Region: update botocore)"
    return None


def arn_problem(value: str) -> str | None:
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return "not an ARN (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE)"
    account = account_problem(parts[4])
    if account:
        return f"its account {parts[4]}: {account}"
    region = region_problem(parts[3])
    return f"its Region {parts[3]}: {region}" if region else None


_KIND_CHECKS = {"account": account_problem, "external_id": external_id_problem, "bucket": bucket_problem,
                "region": region_problem, "arn": arn_problem}


def template_problem(spec: dict, value: str) -> str | None:
    """What CloudFormation itself would refuse: the parameter's AllowedPattern, AllowedValues, lengths, numbers."""
    if spec.get("AllowedValues") and value not in [str(v) for v in spec["AllowedValues"]]:
        return f"not one of {', '.join(str(v) for v in spec['AllowedValues'])} (the template's AllowedValues)"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"at least {spec['MinLength']} characters, not {len(value)} (the template's MinLength)"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"at most {spec['MaxLength']} characters, not {len(value)} (the template's MaxLength)"
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return f"does not match the template's AllowedPattern {spec['AllowedPattern']}"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return "not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"below the template's MinValue {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"above the template's MaxValue {spec['MaxValue']}"
    return None


# --- check ---------------------------------------------------------------------------------------------

def parse_overrides(tokens, source: str) -> dict[str, str]:
    """sam's parameter overrides: KEY=VALUE (shell quoting) or ParameterKey=KEY,ParameterValue=VALUE, as a
    string, a TOML list or the command line's words."""
    words = []
    for token in [tokens] if isinstance(tokens, str) else tokens:
        try:  # a plan's placeholder KEY=<output ...> stays one word, to be named as a placeholder
            words += shlex.split(re.sub(r"(\w+)=(<[^<>\"']*>)", r'\1="\2"', str(token)))
        except ValueError as exc:
            raise UsageError(f"{source}: {token!r} cannot be read ({exc}): quote values as for a shell") from None
    parameters = {}
    for word in words:
        long_form = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", word, re.S)
        key, value = long_form.groups() if long_form else word.split("=", 1) if "=" in word else (None, None)
        if not key:
            raise UsageError(f"{source}: {word!r} is not KEY=VALUE (e.g. ResearchAccountId=345678901234; a value with "
                             "spaces needs quotes, as for sam: KEY=\"a b\")")
        parameters[key] = value
    return parameters


def read_config(path: str | None, env: str | None) -> tuple[dict, str]:
    """The deploy parameters of a samconfig.toml environment (its global ones, then its deploy ones, as sam
    merges them), and where they come from. A file or environment asked for by name must exist."""
    file = Path(path or "samconfig.toml")
    env_name = env or "default"
    if not file.is_file():
        if path or env:
            raise UsageError(f"{'--config-file ' if path else ''}{file}: no such file: pass --config-file FILE "
                             "(the repository's samconfig.toml), or only --parameter-overrides")
        return {}, "no samconfig.toml"
    try:
        config = tomllib.loads(file.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{file}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise UsageError(f"{file}: cannot be read ({exc.strerror})") from None
    section = config.get(env_name)
    if not isinstance(section, dict):
        if env:
            known = ", ".join(k for k, v in config.items() if isinstance(v, dict)) or "none"
            raise UsageError(f"--config-env {env}: no such environment in {file} (it has: {known})")
        return {}, f"[{env_name}.deploy.parameters] in {file}"
    merged = {}
    for command in ("global", "deploy"):
        found = section.get(command, {}).get("parameters", {}) if isinstance(section.get(command), dict) else {}
        if not isinstance(found, dict):
            raise UsageError(f"{file}: [{env_name}.{command}.parameters] is not a table")
        merged.update(found)
    return merged, f"[{env_name}.deploy.parameters] in {file}"


def _kind_of(template: dict) -> str | None:
    """Which of the stacks a template is: the one most of whose linking parameters it declares."""
    declared = set(template.get("Parameters", {}))
    counts = {key: sum(link.parameter in declared for link in LINKS if link.stack == key) for key in STACKS}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def _shown(value: str, spec: dict) -> str:
    """A NoEcho value (the ExternalId) is never printed."""
    return "****" if spec.get("NoEcho") in (True, "true", "True") else value


def parameter_problems(template: dict, parameters: dict[str, str], where: str, name: str) -> list[str]:
    """One line per problem of the values given to the template: missing, unknown, placeholder, wrong."""
    specs = template.get("Parameters", {})
    kind = _kind_of(template)
    links = {link.parameter: link for link in LINKS if link.stack == kind}
    problems = _default_problems(kind, template, name) if kind else []
    for parameter, spec in specs.items():
        if "Default" not in spec and parameter not in parameters:
            what = links[parameter].what if parameter in links else "a value"
            problems.append(f"{parameter}: missing ({name} has no default for it): add {parameter}=<{what}> to {where}")
    for parameter, value in parameters.items():
        spec = specs.get(parameter)
        if spec is None:
            problems.append(f"{parameter}: not a parameter of {name}: remove it (CloudFormation refuses unknown parameters)")
            continue
        problem = _value_problem(links.get(parameter), spec, value, parameters)
        if problem:
            problems.append(f"{parameter}={_shown(value, spec)}: {problem}")
    return problems


def _value_problem(link: Link | None, spec: dict, value: str, parameters: dict[str, str]) -> str | None:
    if re.fullmatch(r"<.*>", value, re.S):
        return f"still a placeholder: replace it with {link.what if link else 'the value'} (the plan prints the command that reads it)"
    if link and (value or link.required):
        problem = _KIND_CHECKS[link.kind](value)
        if problem:
            return problem
    problem = template_problem(spec, value)
    if problem:
        return problem
    return _cross_problem(link, value, parameters)


def _cross_problem(link: Link | None, value: str, parameters: dict[str, str]) -> str | None:
    """Values that must agree with another parameter of the same deploy."""
    if link and link.same_account_as and parameters.get(link.same_account_as) and value.split(":")[4] != parameters[link.same_account_as]:
        return (f"its account {value.split(':')[4]} is not {link.same_account_as} {parameters[link.same_account_as]}: "
                f"take it from the hub stack's outputs in that account")
    if link and link.kind == "bucket":
        named = re.fullmatch(BUCKET.format(research_account="([0-9]{12})"), value)
        account = parameters.get("ResearchAccountId")
        if named and account and named.group(1) != account:
            return (f"names account {named.group(1)} but ResearchAccountId is {account}: the research stack's bucket is "
                    f"{BUCKET.format(research_account=account)} unless its ArtifactBucketName says otherwise")
    return None


def check(args) -> int:
    template_path = Path(args.template)
    template = _template(template_path)
    config, source = read_config(args.config_file, args.config_env)
    if args.parameter_overrides:
        parameters, where = parse_overrides(args.parameter_overrides, "--parameter-overrides"), "--parameter-overrides"
    elif "parameter_overrides" in config:
        parameters = parse_overrides(config["parameter_overrides"], f"parameter_overrides of {source}")
        where = f"parameter_overrides of {source} (or --parameter-overrides, repeating its values)"
    elif config or args.config_env:
        parameters, where = {}, f"parameter_overrides of {source} (or --parameter-overrides)"
    else:
        raise UsageError("no values to check: pass --parameter-overrides KEY=VALUE ..., or run where samconfig.toml is "
                         "(or --config-file FILE) with --config-env ENV")
    problems = parameter_problems(template, parameters, where, str(template_path))
    region, region_source = _deploy_region(args.region, config, source)
    if not region:
        problems.append("region: none set: pass --region (sam deploy --region) or set region in the config environment")
    elif region_problem(region):
        problems.append(f"region ({region_source}): {region_problem(region)}")
    if problems:
        raise UsageError(problems[0], problems)
    specs = template.get("Parameters", {})
    kind = _kind_of(template)
    linked = [f"{link.parameter}={_shown(parameters[link.parameter], specs[link.parameter])}"
              for link in LINKS if link.stack == kind and link.parameter in parameters]
    print(f"ready: {template_path} in {region} with {len(parameters)} parameters from {where.split(' (')[0]}"
          f"{'; linking: ' + ' '.join(linked) if linked else ''}")
    return 0


def _deploy_region(flag: str | None, config: dict, source: str) -> tuple[str | None, str]:
    """The Region sam deploy would use: --region, the config environment's, else the environment's variables."""
    if flag:
        return flag, "--region"
    if config.get("region"):
        return str(config["region"]), source
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(variable):
            return os.environ[variable], variable
    return None, ""


# --- plan ----------------------------------------------------------------------------------------------

def _plan_values(args, config: dict, templates: dict[str, dict]) -> dict:
    """The plan's own values, each checked as check will check the parameters it fills (the rules of its kind,
    then the template's), and named by its flag before anything is printed."""
    generated = args.external_id is None
    values = {"hub_account": args.hub_account, "research_account": args.research_account,
              "region": args.region or str(config.get("region") or "us-east-1"),
              "external_id": secrets.token_hex(16) if generated else args.external_id}
    values["research_region"] = args.research_region or values["region"]
    flags = [("--hub-account", "hub_account"), ("--research-account", "research_account"), ("--region", "region"),
             ("--research-region", "research_region"), ("--external-id", "external_id")]
    problems = [] if re.fullmatch(r"[A-Za-z][-A-Za-z0-9]{0,127}", args.stack_name) else [
        f"--stack-name {args.stack_name}: CloudFormation's stack names are a letter, then letters, digits and '-' (128 at most)"]
    problems += [f"--tenant-account {t}: {account_problem(t)}" for t in args.tenant_account if account_problem(t)]
    for flag, key in flags:
        if (key == "external_id" and generated) or (key == "research_region" and not args.research_region):
            continue  # generated, or the hub's Region (checked as --region)
        checks = [lambda v, link=link: _KIND_CHECKS[link.kind](v) or template_problem(
                      templates[link.stack]["Parameters"][link.parameter], v) for link in LINKS if link.given == key]
        problem = next(filter(None, (c(values[key]) for c in checks or [region_problem])), None)
        if problem:
            problems.append(f"{flag} {'****' if key == 'external_id' else values[key]}: {problem}")
    if problems:
        raise UsageError(problems[0], problems)
    return {**values, "external_id_generated": generated}


def _describe(stack_name: str, region: str, output: str) -> str:
    query = f"Stacks[0].Outputs[?OutputKey=='{output}'].OutputValue"
    return f"aws cloudformation describe-stacks --stack-name {stack_name} --region {region} --query \"{query}\" --output text"


def _stack_name(key: str, hub_stack: str) -> str:
    return hub_stack + STACKS[key].suffix


def _step(key: str, account: str, values: dict, args, config: dict, broken: list[Link]) -> dict:
    """One stack in one account: its parameters (placeholders for earlier outputs), the commands, what to
    verify after it."""
    stack = STACKS[key]
    hub_stack = args.stack_name
    region = values["research_region"] if key == "research" else values["region"]
    accounts = {"hub": values["hub_account"], "research": values["research_account"]}
    parameters = parse_overrides(config.get("parameter_overrides", ""), "samconfig.toml parameter_overrides") if key == "hub" else {}
    from_outputs = []
    for link in LINKS:
        if link.stack != key:
            continue
        value = link.value(values)
        if link.parameter == "ResearchRegion" and values["research_region"] == values["region"]:
            continue  # empty: the hub's Region
        if value is None and link.output:
            source, output = link.output
            source_region = values["research_region"] if source == "research" else values["region"]
            value = f"<output {output} of stack {_stack_name(source, hub_stack)} in {accounts[source]}>"
            from_outputs.append({"parameter": link.parameter, "output": output, "stack_name": _stack_name(source, hub_stack),
                                 "account_id": accounts[source], "placeholder": value,
                                 "read": _describe(_stack_name(source, hub_stack), source_region, output)})
        parameters[link.parameter] = value
    overrides = " ".join(shlex.quote(f"{k}={v}") for k, v in parameters.items())
    name = _stack_name(key, hub_stack)
    if key == "hub":
        deploy = (f"sam deploy --config-env {args.config_env} --stack-name {name} --region {region} "
                  f"--parameter-overrides {overrides}")
        commands = [f"hubctl deploy check --config-env {args.config_env} --region {region} --parameter-overrides {overrides}",
                    "sam build", deploy]
    else:
        deploy = (f"sam deploy --template-file {stack.template} --stack-name {name} --region {region} "
                  f"--capabilities {stack.capabilities} --no-resolve-s3 --parameter-overrides {overrides}")
        commands = [f"hubctl deploy check --template {stack.template} --region {region} --parameter-overrides {overrides}", deploy]
    after = []
    for link in broken:
        if link.output[0] == key:
            after.append({"do": f"check that output {link.output[1]} of {name} is the {link.stack} stack's {link.parameter}",
                          "command": _describe(name, region, link.output[1]), "expect": link.value(values)})
    if key == "hub":
        after.append({"do": "upload the evaluation datasets (again after each change to datasets/), the bucket being output "
                            f"EvaluationBucketName ({_describe(name, region, 'EvaluationBucketName')})",
                      "command": f"aws s3 sync datasets/ s3://<output EvaluationBucketName of stack {name} in "
                                 f"{values['hub_account']}>/datasets/",
                      "expect": None})
    return {"account": key, "account_id": account, "stack_name": name, "template": stack.template, "region": region,
            "optional": key == "tenant", "parameters": parameters, "from_outputs": from_outputs, "commands": commands,
            "after": after}


def plan(args) -> dict:
    config, _ = read_config(str(ROOT / "samconfig.toml"), args.config_env)
    templates = _stack_templates()
    values = _plan_values(args, config, templates)
    ordered, broken = order()
    accounts = {"hub": [values["hub_account"]], "research": [values["research_account"]],
                "tenant": list(dict.fromkeys(args.tenant_account))}
    steps = [{"step": number, **_step(key, account, values, args, config, broken)}
             for number, (key, account) in enumerate(((k, a) for k in ordered for a in accounts[k]), 1)]
    for step in steps:
        step["after_steps"] = sorted({s["step"] for s in steps[:step["step"] - 1] for f in step["from_outputs"]
                                      if (s["stack_name"], s["account_id"]) == (f["stack_name"], f["account_id"])})
        if step["from_outputs"] or step["account"] == "hub":  # checked as `hubctl deploy check` will (placeholders aside)
            _check_step(step, templates[step["account"]])
    notes = [_cycle_note(link, args.stack_name, values) for link in broken]
    return {"region": values["region"], "research_region": values["research_region"], "stack_name": args.stack_name,
            "config_env": args.config_env, "external_id": values["external_id"],
            "external_id_generated": values["external_id_generated"],
            "accounts": {"hub": values["hub_account"], "research": values["research_account"], "tenants": accounts["tenant"]},
            "notes": notes, "steps": steps}


def _check_step(step: dict, template: dict) -> None:
    """The plan's values pass check (a placeholder is filled at deploy time): a plan never prints a command
    check would refuse."""
    filled = {k: v for k, v in step["parameters"].items() if k not in {f["parameter"] for f in step["from_outputs"]}}
    problems = [p for p in parameter_problems(template, filled, "the plan", step["template"]) if ": missing" not in p]
    if problems:
        raise UsageError(problems[0], problems)


def _cycle_note(link: Link, hub_stack: str, values: dict) -> str:
    source, output = link.output
    return (f"{STACKS[link.stack].template} needs output {output} of {STACKS[source].template}, which needs the "
            f"{link.stack} stack's outputs: a cycle, broken as docs/deploying.md does: {link.parameter} is chosen first "
            f"({link.value(values)}, the research template's own name for the bucket when ArtifactBucketName is empty), "
            f"given to both stacks, and {_stack_name(source, hub_stack)}'s output {output} is compared with it after it is deployed")


def print_plan(data: dict) -> None:
    """The plan for a person: numbered steps, each with its account, commands and what to read or verify."""
    accounts = data["accounts"]
    tenants = f"{len(accounts['tenants'])} tenant account{'s' if len(accounts['tenants']) != 1 else ''}"
    print(f"Deploy plan: hub stack {data['stack_name']} in account {accounts['hub']} ({data['region']}), research account "
          f"{accounts['research']} ({data['research_region']}), {tenants}.")
    print("Run each step from the repository's root with the credentials of the account it names, in this order.")
    generated = " (generated: keep it like a password; it is not stored anywhere)" if data["external_id_generated"] else ""
    print(f"\nExternalId: {data['external_id']}{generated}")
    print("  The hub's ResearchExternalId and the research stack's ExternalId: the same value on both sides.")
    for note in data["notes"]:
        print(f"\nCycle: {note}.")
    for step in data["steps"]:
        optional = " (optional: by the tenant; or give its own roles the statement of docs/tenants.md)" if step["optional"] else ""
        print(f"\n{step['step']}. {step['account']} account {step['account_id']}: stack {step['stack_name']} "
              f"({step['template']}) in {step['region']}{optional}")
        sources = sorted({(f["account_id"], f["stack_name"]) for f in step["from_outputs"]})
        for account_id, stack_name in sources:
            print(f"   after step {', '.join(str(n) for n in step['after_steps'])}, read with account {account_id}'s credentials:")
            for found in step["from_outputs"]:
                if (found["account_id"], found["stack_name"]) == (account_id, stack_name):
                    print(f"     {found['parameter']} = output {found['output']} of {found['stack_name']}:")
                    print(f"       {found['read']}")
        if sources:
            print(f"   then, with account {step['account_id']}'s credentials, each <output ...> below replaced by what it printed:")
        for command in step["commands"]:
            print(f"   {command}")
        for then in step["after"]:
            print(f"   then {then['do']}{'; it must print ' + then['expect'] if then['expect'] else ''}:")
            print(f"     {then['command']}")
    print("\nThen onboard tenants and subscribe the admins to the budget alerts: docs/deploying.md, step 4.")
