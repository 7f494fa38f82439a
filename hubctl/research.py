"""`hubctl research drop DIR`: a research team checks a model folder as the hub will, then uploads it.

The checks are the hub's own (genai_hub.artifacts.check_drop: config.json of a supported
architecture, tokenizer files, safetensors headers, total size) over the local folder, and the
manifest is validated against the hub's import-manifest schema, so a drop the hub would reject is
refused here, naming the file or field, before anything is uploaded. The upload puts every artifact
under models/<model>/<version>/ and import.json last: its arrival is what starts the import
(docs/research-team.md). import.json is tagged genai-hub-submitted-by=<the caller's own UserId,
from sts GetCallerIdentity>: the research bucket refuses a manifest tagged otherwise, so the hub
knows who submitted the version as AWS verified it. It runs with the research account's
credentials (the default ones, or --endpoint-url for `hubctl local up`), not the hub's.
"""
import argparse
import json
from pathlib import Path
from urllib.parse import quote

from hubctl.errors import HubUnreachable, UsageError

MANIFEST = "import.json"
SUBMITTER_TAG = "genai-hub-submitted-by"  # spokes/research.yaml, DenyManifestWithoutVerifiedSubmitter
EPILOG = """examples:
  hubctl research drop ./support-bot --model support-bot --version 1.0.0 --check-only
  hubctl research drop ./support-bot --model support-bot --version 1.0.0 --bucket genai-research-artifacts-111111111111

The folder holds config.json, the tokenizer files, the .safetensors shards and its import.json (the
manifest: model, version, base model, lineage; uploaded last). Exit 2 names the first problem (a file
or a manifest field) and nothing is uploaded.
"""


def add_parser(sub) -> None:
    research = sub.add_parser("research", help="for a research team: check a model folder as the hub will, and drop it",
                              epilog="examples:\n  hubctl research drop ./support-bot --model support-bot --version 1.0.0 --check-only",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = research.add_subparsers(dest="action", metavar="ACTION", required=True)
    drop = actions.add_parser("drop", help="check a local model folder with the hub's checks, then upload it with import.json last",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    drop.add_argument("folder", metavar="DIR", help="the model folder (config.json, tokenizer, .safetensors, import.json)")
    drop.add_argument("--model", required=True, help="model name, as in the manifest (support-bot)")
    drop.add_argument("--version", required=True, help="version, as in the manifest (1.0.0)")
    drop.add_argument("--bucket", help="the research bucket (output ArtifactBucketName of spokes/research.yaml); required to upload")
    drop.add_argument("--check-only", action="store_true", help="run the checks and change nothing")


class FolderReader:
    """genai_hub.artifacts.Reader over a local folder (import.json left out: it is the manifest)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def list(self) -> dict[str, int]:
        return {str(p.relative_to(self.folder)): p.stat().st_size for p in sorted(self.folder.rglob("*"))
                if p.is_file() and p.name != MANIFEST}

    def read(self, name: str, start: int = 0, end: int | None = None) -> bytes:
        with open(self.folder / name, "rb") as handle:
            handle.seek(start)
            return handle.read() if end is None else handle.read(end - start + 1)


def _manifest(folder: Path, args) -> dict:
    from genai_hub.errors import HubError
    from genai_hub.schemas import validate_document

    path = folder / MANIFEST
    if not path.is_file():
        raise UsageError(f"{folder}: no {MANIFEST}: the manifest names the model, version, base model and lineage "
                         "(fields: docs/research-team.md; schema: layer/genai_hub/schemas/import-manifest.json)")
    try:
        document = json.loads(path.read_text())
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    try:
        document = validate_document("import-manifest", document, source=str(path))
    except HubError as exc:
        raise UsageError(str(exc)) from None
    for field, flag in (("model_name", "--model"), ("version", "--version")):
        if document.get(field) != getattr(args, flag[2:]):
            raise UsageError(f"{path}: {field} is {document.get(field)!r} but {flag} is {getattr(args, flag[2:])!r}: they must agree")
    return document


def drop(args) -> int:
    from genai_hub import artifacts
    from genai_hub.errors import HubError

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    try:
        report = artifacts.check_drop(FolderReader(folder))
    except HubError as exc:
        raise UsageError(f"{folder}: {exc}") from None
    manifest = _manifest(folder, args)
    print(f"{folder}: {report.architecture} ({report.model_type}), {len(report.safetensors)} safetensors shards, "
          f"{report.tensors} tensors, {report.total_bytes:,} bytes: the hub's checks pass")
    if args.check_only:
        return 0
    if not args.bucket:
        raise UsageError("--bucket: name the research bucket (output ArtifactBucketName of spokes/research.yaml) to upload")
    import boto3
    import boto3.exceptions
    import botocore.exceptions

    s3 = boto3.client("s3", region_name=args.region, endpoint_url=args.endpoint_url)
    prefix = f"models/{args.model}/{args.version}/"
    names = FolderReader(folder).list()
    try:
        for name in names:
            s3.upload_file(str(folder / name), args.bucket, prefix + name)
    except boto3.exceptions.S3UploadFailedError as exc:  # not a ClientError: say what AWS refused
        raise HubUnreachable(f"s3://{args.bucket}/{prefix}: {exc} (the research account's credentials must be allowed "
                             "to write to its bucket)") from None
    # Last: it starts the import. The tag must be the caller's own aws:userid (the bucket policy's
    # DenyManifestWithoutVerifiedSubmitter); GetCallerIdentity's UserId is that value.
    user_id = boto3.client("sts", region_name=args.region, endpoint_url=args.endpoint_url).get_caller_identity()["UserId"]
    try:
        s3.put_object(Bucket=args.bucket, Key=prefix + MANIFEST, Body=json.dumps(manifest, indent=2).encode(),
                      Tagging=f"{SUBMITTER_TAG}={quote(user_id, safe='')}")
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "AccessDenied":
            raise
        raise HubUnreachable(f"s3://{args.bucket}/{prefix}{MANIFEST}: AccessDenied: writing the manifest needs s3:PutObject and "
                             f"s3:PutObjectTagging, and its tag {SUBMITTER_TAG} must be the caller's own UserId ({user_id})") from None
    print(f"uploaded {len(names)} files and {MANIFEST} (last, submitted by {user_id}) to s3://{args.bucket}/{prefix}; "
          f"follow it with `hubctl models show {args.model}` against the hub")
    return 0
