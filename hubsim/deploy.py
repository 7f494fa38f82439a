"""Deploy a SAM or CloudFormation template into the emulation, as `sam deploy` would on AWS.

moto ignores `Transform: AWS::Serverless-2016-10-31` (the stack completes with no functions), so
the template is translated with aws-sam-translator first. The local paths SAM resolves at
`sam package` time are resolved here the same way: each CodeUri/ContentUri folder is zipped into
an S3 bucket of the emulation, and each DefinitionUri file is inlined as Definition (the state
machine patch applies DefinitionSubstitutions). Then moto CloudFormation creates the stack.
"""
import functools
import hashlib
import io
import json
import logging
import zipfile
from pathlib import Path

import boto3
from cfnlint.decode import decode_str
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parent.parent

# The translator records usage metrics for a dummy publisher that `transform` gives no way to flush,
# then warns when they are garbage-collected ("There are unpublished metrics"): nothing is lost.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)


class DeployError(RuntimeError):
    """The template could not be deployed; the message names the resource and the reason."""


class _OfflinePolicyLoader(ManagedPolicyLoader):
    """Resolves AWS managed policy names to ARNs without calling IAM (there is no account)."""

    def __init__(self):
        super().__init__(iam_client=None)

    def load(self):
        return _ManagedPolicyArns()


class _ManagedPolicyArns(dict):
    def __contains__(self, name):
        return isinstance(name, str) and not name.startswith("arn:")

    def __getitem__(self, name):
        prefix = "service-role/" if name.endswith(("ExecutionRole", "ServiceRole")) else ""
        return f"arn:aws:iam::aws:policy/{prefix}{name}"

    def get(self, name, default=None):
        return self[name] if name in self else default


@functools.lru_cache(maxsize=16)
def _template_json(path: str, stamp: tuple[int, int]) -> str:
    """The template as JSON text, parsed once per file version (`stamp`: its mtime and size): parsing
    YAML with CloudFormation's tags took 0.4 s of every deploy, and every test deploys the hub."""
    template, matches = decode_str(Path(path).read_text())
    if template is None:
        raise DeployError(f"{path}: not a valid template: {'; '.join(str(m) for m in matches)}")
    return json.dumps(template)


def load_template(path: Path) -> dict:
    """Plain dicts (no cfn-lint node types), a fresh copy on every call: callers change them."""
    stat = Path(path).stat()
    return json.loads(_template_json(str(path), (stat.st_mtime_ns, stat.st_size)))


def _zip_folder(folder: Path) -> tuple[bytes, str]:
    """The folder as a deterministic zip and its object key, built once per version of its files
    (every test deploys the hub: reading and deflating the layer and ~70 functions each time cost more
    than uploading them)."""
    files = sorted(f for f in folder.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    return _zipped(str(folder), tuple((str(f.relative_to(folder)), f.stat().st_mtime_ns, f.stat().st_size) for f in files))


@functools.lru_cache(maxsize=256)
def _zipped(folder: str, files: tuple) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, _, _ in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, (Path(folder) / name).read_bytes())
    body = buffer.getvalue()
    return body, f"{Path(folder).name}-{hashlib.sha256(body).hexdigest()[:16]}.zip"


def _upload(s3, bucket: str, folder: Path) -> str:
    if not folder.is_dir():
        raise DeployError(f"{folder}: CodeUri/ContentUri folder does not exist")
    body, key = _zip_folder(folder)
    s3(bucket, key, body)
    return f"s3://{bucket}/{key}"


def _artifact_store(s3_client, account: str):
    """How the deployer puts its artifacts: straight into the emulation's S3 store of `account` (the
    bucket and objects are the same as after `sam deploy`'s upload; the ~70 PutObject calls through
    the API were 0.4 s of every hub deploy), or through the API when that store cannot be reached."""
    try:
        from moto.s3.models import s3_backends

        backend = s3_backends[account]["global"]
        return lambda bucket, key, body: backend.put_object(bucket, key, body)
    except Exception:  # not in an emulation: upload as sam does
        return lambda bucket, key, body: s3_client.put_object(Bucket=bucket, Key=key, Body=body)


def package(template: dict, base: Path, s3, bucket: str) -> dict:
    """Resolve local CodeUri, ContentUri and DefinitionUri the way `sam package` does; `s3(bucket, key,
    body)` stores an artifact."""
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str) and not props["CodeUri"].startswith("s3://"):
            props["CodeUri"] = _upload(s3, bucket, base / props["CodeUri"])
        elif kind == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = _upload(s3, bucket, base / props["ContentUri"])
        elif kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            path = base / props.pop("DefinitionUri")
            try:
                props["Definition"] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise DeployError(f"{name}: DefinitionUri {path}: {exc}") from None
    return template


def translate(template: dict, parameters: dict) -> dict:
    if "AWS::Serverless-2016-10-31" not in str(template.get("Transform", "")):
        return template
    # The translation is a pure function of the packaged template and the parameters: done once per
    # distinct pair (0.3 s each time otherwise), a fresh copy per deploy.
    return json.loads(_translated(json.dumps(template, sort_keys=True), json.dumps(parameters, sort_keys=True)))


@functools.lru_cache(maxsize=32)
def _translated(template_json: str, parameters_json: str) -> str:
    try:
        return json.dumps(transform(json.loads(template_json), json.loads(parameters_json), _OfflinePolicyLoader()))
    except Exception as exc:  # samtranslator raises InvalidDocumentException with causes
        causes = getattr(exc, "causes", None) or [exc]
        raise DeployError("SAM translation failed: " + "; ".join(str(c) for c in causes)) from None


@functools.lru_cache(maxsize=8)
def _clients(region: str) -> tuple:
    """S3, STS and CloudFormation clients of the default credentials, made once: a new client parses
    its service's endpoint rules again (0.1 s for S3), and every test deploys the hub."""
    session = boto3.session.Session(region_name=region)
    return tuple(session.client(name, region_name=region) for name in ("s3", "sts", "cloudformation"))


def deploy(
    template_path: Path,
    stack_name: str,
    *,
    parameters: dict | None = None,
    session: boto3.session.Session | None = None,
    region: str = "us-east-1",
) -> dict:
    """Create `stack_name` from `template_path`; return its outputs. `session` picks the account."""
    s3, sts, cfn = (_clients(region) if session is None else
                    tuple(session.client(name, region_name=region) for name in ("s3", "sts", "cloudformation")))
    account = sts.get_caller_identity()["Account"]
    bucket = f"hubsim-artifacts-{account}-{region}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    parameters = parameters or {}
    template = translate(package(load_template(template_path), template_path.parent, _artifact_store(s3, account), bucket), parameters)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
        failed = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in events if "FAILED" in e["ResourceStatus"]]
        raise DeployError(f"stack {stack_name} ended {stack['StackStatus']}: {'; '.join(failed) or 'no reason given'}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
