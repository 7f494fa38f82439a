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


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                info = zipfile.ZipInfo(str(file.relative_to(folder)), date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def _upload(s3, bucket: str, folder: Path) -> str:
    if not folder.is_dir():
        raise DeployError(f"{folder}: CodeUri/ContentUri folder does not exist")
    body = _zip_folder(folder)
    key = f"{folder.name}-{hashlib.sha256(body).hexdigest()[:16]}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def package(template: dict, base: Path, s3, bucket: str) -> dict:
    """Resolve local CodeUri, ContentUri and DefinitionUri the way `sam package` does."""
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
    try:
        return transform(template, parameters, _OfflinePolicyLoader())
    except Exception as exc:  # samtranslator raises InvalidDocumentException with causes
        causes = getattr(exc, "causes", None) or [exc]
        raise DeployError("SAM translation failed: " + "; ".join(str(c) for c in causes)) from None


def deploy(
    template_path: Path,
    stack_name: str,
    *,
    parameters: dict | None = None,
    session: boto3.session.Session | None = None,
    region: str = "us-east-1",
) -> dict:
    """Create `stack_name` from `template_path`; return its outputs. `session` picks the account."""
    session = session or boto3.session.Session(region_name=region)
    s3 = session.client("s3", region_name=region)
    account = session.client("sts", region_name=region).get_caller_identity()["Account"]
    bucket = f"hubsim-artifacts-{account}-{region}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    parameters = parameters or {}
    template = translate(package(load_template(template_path), template_path.parent, s3, bucket), parameters)
    cfn = session.client("cloudformation", region_name=region)
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
