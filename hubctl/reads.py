"""The read commands (list, show, usage, undelivered): for each, the data `--output json|text` prints
and `--query` selects from, and the table a person reads (hubctl.views). Something asked for that does
not exist is a NotFound naming it, before anything is printed."""
import json
import re

from hubctl import views
from hubctl.errors import NotFound, UsageError
from hubctl.output import Shown

# Storage keys say nothing to a reader; a task token would let whoever reads it decide in an approver's place.
HIDDEN = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "task_token"})


def public(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in HIDDEN}


# --- tenants ------------------------------------------------------------------------------------------

def tenants_list(hub, args) -> Shown:
    return Shown(data=lambda: [public(t) for t in views.tenant_records(hub)], table=lambda: views.print_tenants(hub))


def tenant_items(hub, tenant_id: str) -> dict[str, dict]:
    items = views.tenant_items(hub, tenant_id)
    if not items.get("META"):
        raise NotFound(f"no tenant {tenant_id!r} in the registry: see `hubctl tenants list` for the tenant ids")
    return items


def tenants_show(hub, args) -> Shown:
    items = tenant_items(hub, args.tenant_id)

    def data() -> dict:
        grants = []
        for key, grant in sorted(items.items()):
            if key.startswith("GRANT#"):
                profile = items.get(f"PROFILE#{grant['model_id']}", {})
                grants.append({**public(grant), **{k: profile[k] for k in ("source_profile_id", "region") if k in profile}})
        return {**public(items["META"]), "grants": grants}

    return Shown(data=data, table=lambda: views.print_tenant(hub, args.tenant_id))


# --- models and evaluations -----------------------------------------------------------------------------

def models_list(hub, args) -> Shown:
    return Shown(data=lambda: [public(v) for v in views.model_versions(hub)], table=lambda: views.print_models(hub))


def model_versions(hub, model_name: str) -> list[dict]:
    versions = views.model_versions(hub, model_name)
    if not versions:
        raise NotFound(f"no model {model_name!r} in the registry: see `hubctl models list` for the imported models")
    return versions


def models_show(hub, args) -> Shown:
    versions = model_versions(hub, args.model_name)

    def data() -> dict:
        return {"model_name": args.model_name, "versions": [
            {**public(v), "retirements": [public(r) for r in views.retirement_records(hub, f"{args.model_name}:{v['version']}")]}
            for v in versions]}

    return Shown(data=data, table=lambda: views.print_model(hub, args.model_name))


def model_version(hub, model_name: str, version: str) -> dict:
    """The registry's record of one version; NotFound names the versions there are."""
    versions = model_versions(hub, model_name)
    found = next((v for v in versions if v["version"] == version), None)
    if found is None:
        raise NotFound(f"no version {version!r} of model {model_name!r} in the registry (versions: "
                       f"{', '.join(v['version'] for v in versions)}): see `hubctl models show {model_name}`")
    return found


def evaluations_show(hub, args) -> Shown:
    version = model_version(hub, args.model_name, args.version)
    evaluation = version.get("evaluation")
    if not evaluation:
        raise NotFound(f"{args.model_name} {args.version} has no evaluation (it is {version['status']}): "
                       f"see `hubctl models show {args.model_name}`")

    def data() -> dict:
        from genai_hub.metrics import worst_items

        bucket, key = evaluation["result_uri"][5:].split("/", 1)
        result = json.loads(hub.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
        return {"model_name": args.model_name, "version": args.version, "status": version["status"], **evaluation,
                "aggregate": result["aggregate"], "worst_items": worst_items(result)}

    return Shown(data=data, table=lambda: views.print_evaluation(hub, args.model_name, args.version))


# --- retirements and executions ------------------------------------------------------------------------

def retirements_list(hub, args) -> Shown:
    return Shown(data=lambda: [public(r) for r in views.all_retirements(hub)],
                 table=lambda: views.print_retirements(views.all_retirements(hub)))


def models_lifecycle(hub, args) -> Shown:
    rows = views.model_lifecycles(hub)
    return Shown(data=lambda: rows, table=lambda: views.print_model_lifecycles(rows))


def executions_list(hub, args) -> Shown:
    keys = ("workflow", "name", "status", "startDate", "stopDate", "executionArn", "stateMachineArn")
    return Shown(data=lambda: [{k: e[k] for k in keys if k in e} for e in views.list_executions(hub)],
                 table=lambda: views.print_executions(hub))


EXECUTION_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:\s]+:[^:\s]+")
# What Step Functions refuses in a name (StartExecution): whitespace, brackets, wildcards, ':' '/' and the like.
EXECUTION_NAME = re.compile(r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/]{1,80}")


def describe_execution(hub, name_or_arn: str) -> dict:
    """describe_execution of an execution ARN, or of the name `hubctl executions list` prints (looked up
    in each of the hub's state machines: an execution ARN is its machine's ARN with the name appended)."""
    from botocore.exceptions import ClientError

    sfn, given = hub.client("stepfunctions"), name_or_arn
    if given.startswith("arn:"):
        if not EXECUTION_ARN.fullmatch(given):
            raise UsageError(f"{given!r} is not an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME): "
                             "give one, or a name from `hubctl executions list`")
        candidates = {"": given}
    elif not EXECUTION_NAME.fullmatch(given):  # no execution can have it: not worth a call per workflow
        raise NotFound(f"no execution {given!r}: names have 1 to 80 characters, without spaces, ':' or '/'; "
                       "give a name or an execution ARN from `hubctl executions list`")
    else:
        candidates = {workflow: f"{machine.replace(':stateMachine:', ':execution:', 1)}:{given}"
                      for workflow, machine in views.state_machine_arns(hub).items()}
    found = {}
    for workflow, arn in candidates.items():
        try:
            found[workflow] = sfn.describe_execution(executionArn=arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("ExecutionDoesNotExist", "InvalidArn"):
                raise
    if not found:
        raise NotFound(f"no execution {given!r} in the hub's workflows: give a name or an execution ARN "
                       "from `hubctl executions list`")
    if len(found) > 1:
        raise UsageError(f"{given!r} names an execution of {len(found)} workflows ({', '.join(sorted(found))}): "
                         f"give its execution ARN, one of {', '.join(d['executionArn'] for d in found.values())}")
    described = next(iter(found.values()))
    described.pop("ResponseMetadata", None)
    return described


def _parsed(text):
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def executions_show(hub, args) -> Shown:
    described = describe_execution(hub, args.execution)
    arn = described["executionArn"]

    def data() -> dict:
        # input and output as objects, not JSON in a string: --query output.retired reads them.
        return {**described, **{k: _parsed(described[k]) for k in ("input", "output") if k in described},
                "steps": views.execution_steps(hub, arn)}

    return Shown(data=data, table=lambda: views.print_execution(hub, arn))


# --- audit ----------------------------------------------------------------------------------------------

def audit_show(hub, args) -> Shown:
    from genai_hub import audit

    stream = args.stream or (f"tenant#{args.tenant}" if args.tenant else None)
    streams = audit.read_all(hub.output("AuditTableName"), hub.client("dynamodb"))
    if stream and not streams.get(stream):
        flag = f"--stream {args.stream!r}" if args.stream else f"--tenant {args.tenant!r}"
        raise NotFound(f"{flag}: no audit records for stream {stream} (streams are tenant#ID and model#NAME: "
                       "`hubctl audit show` lists them all)")

    def data() -> list[dict]:
        selected = [stream] if stream else sorted(streams)
        return [{**r, "detail": _parsed(r.get("detail"))} for name in selected for r in streams[name]]

    return Shown(data=data, table=lambda: views.print_audit(hub, stream))


# --- events the workflows could not deliver --------------------------------------------------------------

def events_undelivered(hub, args) -> Shown:
    from hubctl import redrive

    return Shown(data=lambda: redrive.undelivered(hub), table=lambda: redrive.list_undelivered(hub))


READS = {
    ("tenants", "list"): tenants_list, ("tenants", "show"): tenants_show,
    ("models", "list"): models_list, ("models", "show"): models_show, ("models", "lifecycle"): models_lifecycle,
    ("evaluations", "show"): evaluations_show, ("retirements", "list"): retirements_list,
    ("executions", "list"): executions_list, ("executions", "show"): executions_show,
    ("audit", "show"): audit_show, ("events", "undelivered"): events_undelivered,
}
