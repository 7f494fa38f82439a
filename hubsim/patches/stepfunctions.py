"""Step Functions: state machines from CloudFormation that execute, and executions that behave.

Three moto behaviours are replaced:

1. `moto.stepfunctions.models.StateMachine.create_from_cloudformation_json` creates the machine
   in the non-executing backend (DescribeStateMachine on the executing one then says it does not
   exist) and ignores `DefinitionSubstitutions`. The replacement creates it through
   `moto.stepfunctions.responses.get_backend` (the executing parser backend when
   `execute_state_machine` is on), with logging/tracing configuration, after substituting
   `${Name}` placeholders the way CloudFormation does. It never uses moto's Fn::Sub, which turns
   `$$.Execution.Name` into `$.Execution.Name`.
2. `StepFunctionsParserBackend.start_execution` names a nameless execution `None`, so the second
   nameless start (every EventBridge-started execution) fails with ExecutionAlreadyExists. The
   replacement gives it a UUID, as AWS does.
3. `BaseExecutionWorkerCommunication._reflect_execution_status` keeps datetimes from SDK results
   and `$$` context values in the output, so DescribeExecution raises "Object of type datetime is
   not JSON serializable". The replacement stores the output JSON-safe (ISO-8601 strings).

And two costs moto pays on every execution, which made 200 concurrent executions CPU-bound:

4. `ExecutionWorker._get_evaluation_entrypoint` parses the ASL with ANTLR for every execution
   (about 70 ms for the onboarding machine). The replacement parses a definition once, keeps the
   program pickled, and gives each execution its own copy by unpickling it (about 1.5 ms; a deep
   copy took 10): components that keep run state (Parallel branches, Map iterations) are never
   shared between executions. CreateStateMachine's validation
   (`StepFunctionsParserBackend._validate_definition`) parses through the same cache, so deploying
   the hub again (every test does) parses nothing. The pickles are also kept on disk
   (`.hubsim-cache/asl/`, keyed by the definition's sha256 and moto's version), so a new process
   (each test worker, each `hubctl demo`) does not parse the seven machines again (~2-3 s).
5. `boto_client_for` (imported by every service integration) builds a new boto3 client for every
   Task, from boto3's shared default session, which is not thread-safe: under 200 concurrent
   executions some Tasks failed with an empty `DynamoDB.AmazonDynamoDBException`. The replacement
   builds one client per (service, Region, role session) under a lock and reuses it (clients are
   thread-safe), signed with the machine's execution role assumed as states.amazonaws.com (moto's
   signs every integration with one fixed key: the account's root), so every integration call is
   authorised with the machine role's policies by hubsim.patches.authz, and a role whose trust
   policy does not name the machine (aws:SourceArn) fails every integration, as on AWS.

6. `Timeout._eval_body` (TimeoutSeconds of a state) measures wall time on a CPU the emulation
   shares with every other execution: 200 concurrent executions on two cores starve a Task's
   thread past its 30 s timeout, and moto reports that as the service's error (an empty
   `DynamoDB.AmazonDynamoDBException`). Timeouts are a promise about the remote service, not
   about this process's scheduler, so they are stretched by `timeout_scale`
   (HUBSIM_TIMEOUT_SCALE, default 10; tests of timeouts set 1). TimeoutSecondsPath is exempt: a
   deadline taken from the data (approval expiry, retirement date) is kept to the second.
7. `StepFunctionResponse.send_task_failure` passes the error but drops the `cause`, so a task
   answered by SendTaskFailure (a person rejecting an approval) loses who and why. The
   replacement passes both, as the API does.

And one seam for tests and the demo:

8. `StateTaskService._before_eval_execution` (a direct service integration, after TaskScheduled
   and TaskStarted are in the history) is where `hubsim.faults.inject_state` fails the call: the
   ClientError raised there goes through the integration's own error naming, Retry and Catch,
   exactly as an error answered by the service would.
"""
import datetime
import hashlib
import json
import logging
import os
import pickle
import re
import sys
import threading
import uuid
from pathlib import Path

import moto
from moto.stepfunctions import models as sfn_models
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.asl.component.common.timeouts import timeout as timeout_components
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client as parser_boto_client
from moto.stepfunctions.parser.backend import execution as parser_execution
from moto.stepfunctions.parser.backend import execution_worker
from moto.core.responses import EmptyResult
from moto.stepfunctions.responses import StepFunctionResponse, get_backend

from hubsim import faults
from hubsim.patches import Patch

PATCH = Patch(
    name="stepfunctions-executing-cfn-and-executions",
    replaces=(
        "moto.stepfunctions.models.StateMachine.create_from_cloudformation_json (non-executing backend, no "
        "DefinitionSubstitutions); StepFunctionsParserBackend.start_execution (nameless -> 'None'); "
        "BaseExecutionWorkerCommunication._reflect_execution_status (datetimes in output)"
    ),
    covered_by="tests/seams/test_stepfunctions.py::test_cfn_state_machine_executes_with_substitutions_and_nameless_starts",
)

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")
_originals = {}


def substitute(definition: str, substitutions: dict) -> str:
    """CloudFormation's DefinitionSubstitutions: replace ${Key} for the keys given, leave the rest."""

    def replace(match):
        key = match.group(1)
        return str(substitutions[key]) if key in substitutions else match.group(0)

    return _PLACEHOLDER.sub(replace, definition)


def _definition(properties: dict) -> str:
    definition = properties.get("DefinitionString")
    if definition is None and "Definition" in properties:
        definition = json.dumps(properties["Definition"])
    if definition is None:
        raise ValueError("state machine has neither DefinitionString nor Definition (hubsim inlines DefinitionUri)")
    return substitute(definition, properties.get("DefinitionSubstitutions") or {})


def _api_shape(value):
    """CloudFormation's PascalCase property keys as the API's camelCase (Level -> level)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _api_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api_shape(v) for v in value]
    return value


def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    backend = get_backend(account_id, region_name)
    return backend.create_state_machine(
        name=properties.get("StateMachineName", resource_name),
        definition=_definition(properties),
        roleArn=properties.get("RoleArn", ""),
        tags=sfn_models.cfn_to_api_tags(properties.get("Tags", [])),
        loggingConfiguration=_api_shape(properties.get("LoggingConfiguration")),
        tracingConfiguration=_api_shape(properties.get("TracingConfiguration")),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
    get_backend(account_id, region_name).delete_state_machine(resource_name)


def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
    return _originals["start_execution"](
        self, state_machine_arn, name=name or str(uuid.uuid4()), execution_input=execution_input, trace_header=trace_header
    )


def _json_safe(value):
    def default(obj):
        if isinstance(obj, (datetime.datetime, datetime.date)):
            return obj.isoformat().replace("+00:00", "Z")
        return str(obj)

    return json.loads(json.dumps(value, default=default))


def _reflect_execution_status(self):
    _originals["reflect"](self)
    if self.execution.output is not None and not isinstance(self.execution.output, str):
        self.execution.output = _json_safe(self.execution.output)


timeout_scale = float(os.environ.get("HUBSIM_TIMEOUT_SCALE", "10"))


def _timeout_eval_body(self, env) -> None:
    seconds = self._eval_seconds(env=env)
    # A timeout read from the state's data (TimeoutSecondsPath: an approval's expiry, a retirement
    # date) is a business deadline on the wall clock, not a promise about a service: never stretched.
    from_data = isinstance(self, timeout_components.TimeoutSecondsPath)
    env.stack.append(seconds if from_data else seconds * timeout_scale)


_programs: dict[str, bytes] = {}
_programs_lock = threading.Lock()
_CACHE = Path(__file__).resolve().parents[2] / ".hubsim-cache" / "asl"


def _cache_file(definition: str) -> Path:
    digest = hashlib.sha256(f"{moto.__version__}\n{definition}".encode()).hexdigest()
    return _CACHE / f"{digest}.pickle"


def _parse(definition: str) -> bytes:
    """The pickled program of `definition`: from the disk cache, or parsed (and cached there)."""
    path = _cache_file(definition)
    try:
        return path.read_bytes()
    except OSError:
        pass
    program = pickle.dumps(AmazonStateLanguageParser.parse(definition)[0], protocol=pickle.HIGHEST_PROTOCOL)
    try:  # written aside, then renamed: a parallel process reads a whole file or none
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_bytes(program)
        os.replace(partial, path)
    except OSError:
        pass  # a read-only checkout still works, parsing in each process
    return program


def _program(definition: str) -> bytes:
    """The pickled program of `definition`, parsed once per process (the cache is never mutated)."""
    program = _programs.get(definition)
    if program is None:
        with _programs_lock:  # concurrent first executions parse once, not once each
            program = _programs.get(definition)
            if program is None:
                program = _programs[definition] = _parse(definition)
    return program


def _get_evaluation_entrypoint(self):
    return pickle.loads(_program(self._evaluation_details.state_machine_details.definition))


def _validate_definition(definition: str) -> None:
    if definition in _programs:
        return
    try:
        _program(definition)
    except Exception:  # moto's own validation builds the InvalidDefinition message from the error
        _originals["validate"](definition)
        raise


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
_session = None  # boto3's default session is not thread-safe: one of our own, created under the lock


def _execution_machine() -> str | None:
    """The ARN of the state machine whose integration is calling: the interpreter hands the
    execution's Environment (`env`) down every evaluation, so it is on the caller's stack."""
    frame = sys._getframe(2)
    while frame is not None:
        env = frame.f_locals.get("env")
        if env is not None and type(env).__name__ == "Environment":
            try:
                return env.states.context_object.context_object_data["StateMachine"]["Id"]
            except (AttributeError, KeyError, TypeError):
                return None
        frame = frame.f_back
    return None


def machine_role_credentials(machine_arn: str) -> dict | None:
    """The machine's execution-role session, as Step Functions holds it: the role assumed as the
    service states.amazonaws.com with the machine as aws:SourceArn and its account as
    aws:SourceAccount, the confused-deputy conditions a role's trust policy may set
    (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html). A trust
    policy that does not allow it makes every integration of the machine fail, as on AWS. One
    session per machine and role, kept on moto's machine object, so moto's reset forgets it."""
    from hubsim.patches import sts as sts_patch

    region, account = machine_arn.split(":")[3], machine_arn.split(":")[4]
    try:
        machine = parser_models.stepfunctions_parser_backends[account][region].describe_state_machine(machine_arn)
    except Exception:  # a machine deleted while running: moto's own credentials, as before
        return None
    cached = getattr(machine, "hubsim_role_credentials", None)
    if cached is None or cached[0] != machine.roleArn:
        credentials = sts_patch.assume_role_as_service(
            "states.amazonaws.com", machine.roleArn, machine.name[:64], region,
            {"aws:SourceAccount": account, "aws:SourceArn": machine_arn})
        cached = machine.hubsim_role_credentials = (machine.roleArn, credentials)
    return cached[1]


def boto_client_for(region: str, service: str, state_credentials=None):
    """A client for one integration call, signed with the execution role's credentials (moto's signs
    with a fixed key, so every integration ran as the account's root). One client per (service,
    Region, session), reused: clients are thread-safe, creating one per Task is not cheap."""
    global _session
    machine = _execution_machine()
    credentials = machine_role_credentials(machine) if machine else None
    key = (region, service, credentials["AccessKeyId"] if credentials else None)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                import boto3
                from botocore.config import Config
                from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

                _session = _session or boto3.session.Session()
                secret = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
                          "aws_session_token": credentials["SessionToken"]} if credentials else {
                          "aws_access_key_id": "ak", "aws_secret_access_key": "sk"}
                from moto.core.models import botocore_stubber
                from moto.settings import moto_server_port

                if not botocore_stubber.enabled:  # a standalone moto server: call it back over HTTP
                    secret["endpoint_url"] = f"http://localhost:{moto_server_port()}"
                client = _clients[key] = _session.client(
                    service, region_name=region, **secret,
                    config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                                  connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                                  read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS))
    return client


def _before_service_call(self, env, resource_runtime_part, raw_parameters, state_credentials) -> None:
    _originals["before_service_call"](self, env=env, resource_runtime_part=resource_runtime_part,
                                      raw_parameters=raw_parameters, state_credentials=state_credentials)
    faults.before_service_call(self.name, f"{self.resource.api_name}:{self.resource.api_action}")


def running_executions(account_id: str, region_name: str) -> int:
    """How many executions are RUNNING, read from the emulated backend. Listing them through the API
    serializes every execution ever started: a waiter polling that while thousands run takes the CPU
    the executions need (and the cost grows with each poll)."""
    backend = get_backend(account_id, region_name)
    return sum(1 for machine in list(backend.state_machines) for execution in list(machine.executions)
               if execution.status == "RUNNING")


def send_task_failure(self):
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause"))
    return EmptyResult()


def apply() -> None:
    if _originals:
        return
    StepFunctionResponse.send_task_failure = send_task_failure
    _originals["before_service_call"] = StateTaskService._before_eval_execution
    StateTaskService._before_eval_execution = _before_service_call
    _originals["boto_client_for"] = parser_boto_client.boto_client_for
    execution_worker.ExecutionWorker._get_evaluation_entrypoint = _get_evaluation_entrypoint
    _originals["validate"] = parser_models.StepFunctionsParserBackend._validate_definition
    parser_models.StepFunctionsParserBackend._validate_definition = staticmethod(_validate_definition)
    timeout_components.Timeout._eval_body = _timeout_eval_body
    # Every module of the interpreter that imported boto_client_for by name gets the cached one,
    # and modules imported later take it from its home module.
    parser_boto_client.boto_client_for = boto_client_for
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is _originals["boto_client_for"]:
            module.boto_client_for = boto_client_for
    _originals["start_execution"] = parser_models.StepFunctionsParserBackend.start_execution
    _originals["reflect"] = parser_execution.BaseExecutionWorkerCommunication._reflect_execution_status
    sfn_models.StateMachine.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    sfn_models.StateMachine.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)
    parser_models.StepFunctionsParserBackend.start_execution = start_execution
    parser_execution.BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_execution_status
    # The interpreter logs every state at INFO; the engine reports executions itself.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
