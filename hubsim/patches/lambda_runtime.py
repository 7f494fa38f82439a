"""In-process Lambda runtime: handlers run in this process from the function's deployed code.

Replaces `moto.awslambda.models.LambdaFunction._invoke_lambda`, which runs code only through
`docker run` (and `lambda.use_docker=False` returns canned responses without running anything).
The code zip moto stored at CreateFunction is extracted once per code hash and the handler module
is loaded from it, so what runs is exactly what was deployed. An exception raised by the handler
becomes the error payload {errorType, errorMessage} with x-amz-function-error, as in Lambda, so
Retry/Catch by exception name work. Output goes to CloudWatch Logs like Lambda's.
"""
import hashlib
import importlib.util
import io
import json
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from pathlib import Path

from moto.awslambda import models as lambda_models

from hubsim import faults, runtime
from hubsim.patches import Patch

PATCH = Patch(
    name="lambda-in-process",
    replaces="moto.awslambda.models.LambdaFunction._invoke_lambda (docker run of the function image)",
    covered_by="tests/seams/test_lambda_runtime.py::test_lambda_runs_deployed_handler_in_process",
)

_CODE_ROOT = Path(tempfile.gettempdir()) / "hubsim-lambda-code"
_modules: dict[tuple[str, str], object] = {}
_load_lock = threading.Lock()
_original = lambda_models.LambdaFunction._invoke_lambda
# Handler time, summed per function: the engine's own overhead is end-to-end time minus this.
handler_seconds: dict[str, float] = {}
invocations: dict[str, int] = {}


class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools use."""

    def __init__(self, fn):
        self.function_name = fn.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size or 128)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = f"hubsim/{self.aws_request_id}"
        self._deadline = time.monotonic() + float(fn.timeout or 3)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _code_dir(fn) -> Path:
    digest = fn.code_sha_256.replace("/", "_").replace("+", "-").rstrip("=") or hashlib.sha256(fn.code_bytes).hexdigest()
    target = _CODE_ROOT / digest
    if not target.exists():
        staging = _CODE_ROOT / f".{digest}.{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        zipfile.ZipFile(io.BytesIO(fn.code_bytes)).extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # another thread extracted it first
            pass
    return target


def load_handler(fn):
    module_name, _, attr = fn.handler.rpartition(".")
    key = (fn.code_sha_256, module_name)
    module = _modules.get(key)
    if module is not None:  # warm start
        return getattr(module, attr)
    code_dir = _code_dir(fn)
    with _load_lock:
        module = _modules.get(key)
        if module is None:
            path = code_dir / (module_name.replace(".", "/") + ".py")
            if not path.exists():
                raise FileNotFoundError(f"handler module {module_name} not found in the code of {fn.function_name}")
            unique = f"hubsim_fn_{code_dir.name[:16]}_{module_name.replace('.', '_')}"
            spec = importlib.util.spec_from_file_location(unique, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[unique] = module
            spec.loader.exec_module(module)
            _modules[key] = module
    return getattr(module, attr)


_role_lock = threading.Lock()


def execution_role_credentials(fn) -> dict:
    """The function's execution-role session, as Lambda gives it to the handler in
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
    so every AWS call of a handler is made as its role: STS evaluates trust policies naming it, and
    bedrock-runtime its policies. One session per function and role, as a warm environment keeps it
    (moto does not expire them), kept on moto's function object so that moto's reset forgets it with
    the session. Lambda assumes the role as a service, so no caller's trust is checked."""
    key = fn.role
    found = getattr(fn, "hubsim_role_credentials", {}).get(key)
    if found is None:
        from moto.sts.models import sts_backends

        with _role_lock:
            found = getattr(fn, "hubsim_role_credentials", {}).get(key)
            if found is None:
                session = sts_backends[fn.account_id]["aws"].assume_role(
                    region_name=fn.region, role_session_name=fn.function_name[:64], role_arn=fn.role,
                    policy=None, duration=3600, external_id=None)
                found = {"AWS_ACCESS_KEY_ID": session.access_key_id, "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
                         "AWS_SESSION_TOKEN": session.session_token}
                fn.hubsim_role_credentials = {key: found}
    return found


def _environment(fn) -> dict:
    return {
        **execution_role_credentials(fn),
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        # The emulation has no X-Ray daemon; Powertools Tracer would otherwise try to reach one.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **fn.environment_vars,
    }


def invoke_in_process(self, event=None):
    """(payload, errored, logs) like moto's docker runner, without docker."""
    event = {} if event is None else event
    started = time.perf_counter()
    with runtime.invocation(_environment(self)) as log:
        try:
            handler = load_handler(self)
            faults.before_invoke(self.function_name)
            result = handler(event, LambdaContext(self))
            faults.after_invoke(self.function_name)
            payload, errored = json.dumps(result), False
        except Exception as exc:  # the handler's error is the function's error, as in Lambda
            payload = json.dumps({
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
            })
            errored = True
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=log)
    elapsed = time.perf_counter() - started
    handler_seconds[self.function_name] = handler_seconds.get(self.function_name, 0.0) + elapsed
    invocations[self.function_name] = invocations.get(self.function_name, 0) + 1
    output = log.getvalue()
    # moto's docker runner created the log group; Lambda does too, on first invocation.
    self.logs_backend.ensure_log_group(self.logs_group_name)
    self.save_logs(output or "(no output)")
    return payload, errored, output


def apply() -> None:
    lambda_models.LambdaFunction._invoke_lambda = invoke_in_process


def revert() -> None:
    lambda_models.LambdaFunction._invoke_lambda = _original
