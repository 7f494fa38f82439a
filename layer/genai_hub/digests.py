"""Signed digests of the audit chains' heads, kept outside the audit table (issue 19).

The hash chains (genai_hub.audit) show a record edited, inserted or deleted inside a chain, not a
removed tail nor a chain rewritten with fresh hashes: both leave valid chains. So, as CloudTrail
does with its digest files, the digest function writes, every hour, each chain's head (stream, last
`seq`, last `hash`) where the table's writers cannot undo it:

- the document names the digest before it (key, sha256 of its bytes, time), so a digest removed or
  replaced breaks the chain of digests;
- the sha256 of its canonical bytes is signed with an asymmetric KMS key that only the digest
  function may use; signature, algorithm and key go in the object's metadata, as CloudTrail's
  `x-amz-meta-signature`;
- it is written with `If-None-Match: *` to a bucket with Object Lock in COMPLIANCE mode: never
  over an existing object, never deleted; a write over it adds a version, which `verify` names.

`verify` sets the table against the digests: a stream shorter than a digest saw (`tail-removed`),
the record at a digest's `seq` with another hash (`rewritten`), a stream gone (`stream-deleted`),
and digests unsigned, forged, missing or overwritten. The chains themselves are still checked by
`audit.verify_chain`. Layout of the documents: docs/data.md ("Audit digests").

CloudTrail: digest file structure
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
and how its digests are signed and validated
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html
"""
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property

from genai_hub import audit, aws, config

VERSION = 1
PREFIX = "digests/"
ALGORITHM = "ECDSA_SHA_256"  # the only one an ECC_NIST_P256 key signs with
# User-defined metadata (x-amz-meta-<name>), as CloudTrail keeps a digest's signature.
META_SIGNATURE, META_ALGORITHM, META_KEY = "signature", "signature-algorithm", "signing-key"
_KEY = re.compile(r"^digests/(\d{4})/(\d{2})/(\d{2})/(\d{8}T\d{6}Z)\.json$")
_TIME = "%Y-%m-%dT%H:%M:%SZ"
# What S3 answers a conditional write whose key exists (412), or is being written (409).
_CONDITIONAL_WRITE_LOST = ("PreconditionFailed", "ConditionalRequestConflict")


# --- names and bytes --------------------------------------------------------------------------------

def time_text(moment: datetime) -> str:
    """A digest time: RFC 3339 UTC to the second, as CloudTrail's digestEndTime."""
    return moment.astimezone(timezone.utc).strftime(_TIME)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME).replace(tzinfo=timezone.utc)


def digest_key(digest_time: str) -> str:
    """digests/YYYY/MM/DD/<digest_time>.json, the time in ISO 8601 basic format (20261121T100000Z, as
    CloudTrail names its digest files): no ':' to escape, and keys sort as their times do."""
    moment = parse_time(digest_time)
    return f"{PREFIX}{moment:%Y/%m/%d}/{moment:%Y%m%dT%H%M%SZ}.json"


def key_time(key: str) -> str | None:
    """The digest time a key names, or None for a key that is not a digest's name."""
    found = _KEY.match(key)
    if not found:
        return None
    moment = datetime.strptime(found[4], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return time_text(moment) if f"{moment:%Y/%m/%d}" == "/".join(found.group(1, 2, 3)) else None


def canonical(document: dict) -> bytes:
    """The bytes that are hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# --- writing --------------------------------------------------------------------------------------------

def read_heads(table: str | None = None, dynamodb=None) -> list[dict]:
    """Every stream's last record as {"stream", "seq", "hash"}, sorted by stream.

    One Scan (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html) of the
    whole table, projected on the three attributes. What it costs: DynamoDB charges
    a Scan by the size of every item it reads, not by what the projection returns ("Projection
    expression has no effect on provisioned throughput consumption", Using projection expressions
    in DynamoDB, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ProjectionExpressions.html),
    so an hourly digest reads the table once an hour: with a million records of ~1 KB, 250,000
    eventually consistent read units, a few cents per run on demand. Acceptable for now: it needs
    no second write on every append (a heads item) and no stream processor, and the audit trail
    grows by thousands of records a day, not millions. Eventually consistent: a record appended in
    the last second may be left to the next digest; records never change after their write, so
    what is read is a true (older) head."""
    dynamodb = dynamodb or aws.client("dynamodb")
    heads: dict[str, tuple[int, str]] = {}
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table or config.audit_table(), ProjectionExpression="#s, #q, #h",
        ExpressionAttributeNames={"#s": "stream", "#q": "seq", "#h": "hash"})
    for page in pages:
        for item in page.get("Items", []):
            stream, seq, hash_ = item["stream"]["S"], int(item["seq"]["N"]), item.get("hash", {}).get("S", "")
            if stream not in heads or seq > heads[stream][0]:
                heads[stream] = (seq, hash_)
    return [{"stream": s, "seq": seq, "hash": h} for s, (seq, h) in sorted(heads.items())]


def _previous(s3, bucket: str, before: str) -> dict | None:
    """The newest digest before `before` as {"key", "sha256", "digest_time"}, or None for the first.

    A LIST of every digest key (one request per 1,000: 9 a year at one digest an hour). ListObjectsV2
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html; the previous digest's
    bytes with GetObject https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html"""
    newest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for item in page.get("Contents", []):
            if key_time(item["Key"]) and item["Key"] < before and (newest is None or item["Key"] > newest):
                newest = item["Key"]
    if newest is None:
        return None
    body = s3.get_object(Bucket=bucket, Key=newest)["Body"].read()
    return {"key": newest, "sha256": sha256(body), "digest_time": key_time(newest)}


def write_digest(now: datetime | None = None, *, table: str | None = None, bucket: str | None = None,
                 key_arn: str | None = None) -> dict:
    """Write one signed digest of every chain's head, as of `now` (default: the current second).

    Safe to repeat: a digest whose heads equal the previous one's is still written (it says that
    nothing changed until then); a second run in the same second finds its key taken (S3 answers
    PreconditionFailed, or ConditionalRequestConflict while the first write is in flight) and
    returns `written: False` without writing anything.

    KMS Sign of the digest, MessageType DIGEST ("KMS skips the hashing step"):
    https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
    PutObject with If-None-Match "*" (conditional write, 412 when the key exists):
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
    The bucket's default retention locks the new version (Object Lock, COMPLIANCE mode):
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html"""
    table, bucket, key_arn = table or config.audit_table(), bucket or config.audit_digest_bucket(), key_arn or config.audit_digest_key_arn()
    digest_time = time_text(now or datetime.now(timezone.utc))
    key = digest_key(digest_time)
    s3 = aws.client("s3")
    heads = read_heads(table)
    previous = _previous(s3, bucket, before=key)
    document = {"version": VERSION, "digest_time": digest_time, "hub_account": config.hub_account_id(),
                "region": config.region(), "audit_table": table, "streams": heads, "previous_digest": previous}
    body = canonical(document)
    signature = aws.client("kms").sign(KeyId=key_arn, Message=hashlib.sha256(body).digest(), MessageType="DIGEST",
                                       SigningAlgorithm=ALGORITHM)["Signature"]
    answer = {"key": key, "digest_time": digest_time, "sha256": sha256(body), "streams": len(heads),
              "records": sum(h["seq"] for h in heads), "previous_digest": previous["key"] if previous else None}
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", ContentType="application/json",
                      ChecksumAlgorithm="SHA256",  # Object Lock requires a checksum; SHA-256 also checks the bytes
                      Metadata={META_SIGNATURE: signature.hex(), META_ALGORITHM: ALGORITHM, META_KEY: key_arn})
    except Exception as exc:  # botocore ClientError
        if aws.error_code(exc) not in _CONDITIONAL_WRITE_LOST:
            raise
        return {**answer, "written": False, "reason": f"a digest named {key} exists already: this second is anchored"}
    return {**answer, "written": True}


# --- reading ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Version:
    """One version of a digest object, oldest first; a delete marker has no body."""
    version_id: str
    last_modified: datetime
    body: bytes | None
    signature: str  # valid | missing | invalid | deleted
    reason: str = ""

    @property
    def sha256(self) -> str | None:
        return sha256(self.body) if self.body is not None else None


@dataclass(frozen=True)
class Digest:
    key: str
    versions: tuple[Version, ...]

    @property
    def time(self) -> str:
        """The time its key names (for an object that is no digest's name: when S3 first stored it)."""
        return key_time(self.key) or time_text(self.versions[0].last_modified)

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def authentic(self) -> Version | None:
        """The first version that verifies: what the digest function wrote, kept by Object Lock."""
        return next((v for v in self.versions if v.signature == "valid"), None)

    @cached_property
    def document(self) -> dict | None:
        """The authentic version's document (parsed once: verify reads it for every stream)."""
        return json.loads(self.authentic.body) if self.authentic else None

    def as_of(self, at: str) -> "Digest":
        """The digest as it was at `at`: its first version, and what was written over it until then."""
        first, *later = self.versions
        return Digest(self.key, (first, *(v for v in later if time_text(v.last_modified) <= at)))


def check_signature(kms, key_arn: str, key: str, body: bytes, metadata: dict) -> tuple[str, str]:
    """("valid" | "missing" | "invalid", why) for one version's bytes and metadata.

    Verified by KMS with the hub's key (never the key the metadata names: anyone can sign with a
    key of their own), MessageType DIGEST: on AWS a signature that does not verify makes Verify
    fail with KMSInvalidSignatureException (https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html).
    As CloudTrail's validation checks that a digest was "retrieved from its original location", the
    document must name the key it is stored under."""
    signature = metadata.get(META_SIGNATURE)
    if not signature:
        return "missing", "it has no signature in its metadata (x-amz-meta-signature)"
    if metadata.get(META_KEY) != key_arn:
        return "invalid", f"its metadata names another signing key ({metadata.get(META_KEY) or 'none'}), not the hub's {key_arn}"
    if metadata.get(META_ALGORITHM) != ALGORITHM:
        return "invalid", f"its metadata names the algorithm {metadata.get(META_ALGORITHM)!r}, not {ALGORITHM}"
    try:
        answer = kms.verify(KeyId=key_arn, Message=hashlib.sha256(body).digest(), MessageType="DIGEST",
                            Signature=bytes.fromhex(signature), SigningAlgorithm=ALGORITHM)
    except ValueError:
        return "invalid", "its signature is not hexadecimal"
    except Exception as exc:  # botocore ClientError
        if aws.error_code(exc) != "KMSInvalidSignatureException":
            raise
        return "invalid", f"its signature does not verify with the hub's key {key_arn}: its bytes are not what was signed"
    if not answer.get("SignatureValid"):
        return "invalid", f"its signature does not verify with the hub's key {key_arn}"
    try:
        named = key_time(key) and digest_key(json.loads(body)["digest_time"])
    except (ValueError, KeyError, TypeError):
        named = None
    if named != key:
        return "invalid", f"it was signed for another place ({named or 'no digest time'}), not {key}"
    return "valid", ""


def load(bucket: str, key_arn: str, s3=None, kms=None, workers: int = 16) -> list[Digest]:
    """Every object under digests/, with all its versions and delete markers, each version's
    signature checked; sorted by key (by time).

    ListObjectVersions https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html and
    GetObject of each version (user metadata comes back as Metadata). One request per version:
    ~9,000 a year of hourly digests, fetched `workers` at a time."""
    s3, kms = s3 or aws.client("s3"), kms or aws.client("kms")
    listed: dict[str, list[tuple[datetime, str, bool]]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=PREFIX):
        for version in page.get("Versions", []):
            listed.setdefault(version["Key"], []).append((version["LastModified"], version["VersionId"], False))
        for marker in page.get("DeleteMarkers", []):
            listed.setdefault(marker["Key"], []).append((marker["LastModified"], marker["VersionId"], True))

    def fetch(key: str, modified: datetime, version_id: str, marker: bool) -> Version:
        if marker:
            return Version(version_id, modified, None, "deleted", "a delete marker")
        got = s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)
        body = got["Body"].read()
        status, reason = check_signature(kms, key_arn, key, body, got.get("Metadata") or {})
        return Version(version_id, modified, body, status, reason)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: [pool.submit(fetch, key, *entry) for entry in sorted(entries, key=lambda e: e[0])]
                   for key, entries in listed.items()}
        return [Digest(key, tuple(f.result() for f in futures[key])) for key in sorted(futures)]


# --- verifying --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    kind: str  # tail-removed | rewritten | stream-deleted | digest-unsigned | digest-tampered | digest-missing |
    #            digest-overwritten | not-anchored | altered | inserted | missing | reordered (the chain's, audit.verify_chain)
    subject: str  # the stream, or the digest's key
    message: str
    seq: int | None = None
    digest: str | None = None  # the digest that shows it


def reference(digests: list[Digest], at: str | None = None) -> Digest | None:
    """The newest digest that verifies, at or before `at` (RFC 3339 UTC) when given."""
    trusted = [d for d in digests if d.authentic and key_time(d.key) and (at is None or d.time <= at)]
    return max(trusted, key=lambda d: d.time, default=None)


def _digest_problems(digests: list[Digest]) -> list[Problem]:
    problems = []
    by_key = {d.key: d for d in digests}
    for d in digests:
        written = [v for v in d.versions if v.body is not None]
        if d.current.signature == "deleted":
            kept = f"; Object Lock keeps its version {d.authentic.version_id}" if d.authentic else ""
            problems.append(Problem("digest-missing", d.key, f"digest {d.key} was deleted: a delete marker "
                                    f"({d.current.version_id}, {time_text(d.current.last_modified)}) hides it{kept}", digest=d.key))
        if len(written) > 1:
            first, later = written[0], written[1:]
            problems.append(Problem("digest-overwritten", d.key, f"digest {d.key} has {len(written)} versions: someone wrote over it "
                                    f"at {', '.join(time_text(v.last_modified) for v in later)}; Object Lock kept the "
                                    f"first ({first.version_id}), which is what the hub wrote", digest=d.key))
        if d.current.signature == "missing":
            problems.append(Problem("digest-unsigned", d.key, f"digest {d.key}: {d.current.reason}: the digest function "
                                    "did not write it", digest=d.key))
        elif d.current.signature == "invalid":
            problems.append(Problem("digest-tampered", d.key, f"digest {d.key}: {d.current.reason}", digest=d.key))
        previous = (d.document or {}).get("previous_digest")
        if not previous:
            continue
        before = by_key.get(previous["key"])
        if before is None:
            problems.append(Problem("digest-missing", previous["key"], f"digest {previous['key']} ({previous['digest_time']}), "
                                    f"which digest {d.key} names as the one before it, is gone", digest=d.key))
        elif before.current.body is not None and before.current.sha256 != previous["sha256"]:
            problems.append(Problem("digest-missing", previous["key"], f"digest {previous['key']} is not the one digest {d.key} "
                                    f"follows: its sha256 was {previous['sha256'][:12]}..., it is {before.current.sha256[:12]}... "
                                    "now: it was replaced", digest=d.key))
    return problems


def _stream_problems(streams: dict[str, list[dict]], references: list[Digest]) -> list[Problem]:
    """The streams against every head the reference digests recorded; one problem per stream and kind,
    from the digest that shows the most (the longest head lost, the first record rewritten)."""
    found: dict[tuple[str, str], tuple[int, Problem]] = {}

    def keep(kind: str, stream: str, rank: int, problem: Problem) -> None:
        if (kind, stream) not in found or rank > found[(kind, stream)][0]:
            found[(kind, stream)] = (rank, problem)

    for d in references:
        for head in d.document["streams"]:
            stream, seq, recorded = head["stream"], head["seq"], head["hash"]
            records = streams.get(stream) or []
            at_seq = next((r for r in records if r.get("seq") == seq), None)
            newest = max((r["seq"] for r in records if isinstance(r.get("seq"), int)), default=0)
            if not records:
                keep("stream-deleted", stream, seq, Problem("stream-deleted", stream, f"stream {stream} had {seq} records at "
                                                             f"digest {d.time} and is gone from the audit table", digest=d.key))
            elif newest < seq:
                lost = f"record {seq} was" if newest + 1 == seq else f"records {newest + 1} to {seq} were"
                keep("tail-removed", stream, seq, Problem(
                    "tail-removed", stream, f"stream {stream} had {seq} records at digest {d.time}, now {len(records)}: "
                    f"{lost} removed", seq=newest + 1, digest=d.key))
            elif at_seq is not None and at_seq.get("hash") != recorded:
                keep("rewritten", stream, -seq, Problem(
                    "rewritten", stream, f"record {seq} of {stream} is not the one digest {d.time} saw (hash {recorded[:12]}... "
                    f"then, {str(at_seq.get('hash'))[:12]}... now): the chain was rewritten up to it", seq=seq, digest=d.key))
    return [problem for _, problem in found.values()]


def verify(streams: dict[str, list[dict]], digests: list[Digest], at: str | None = None) -> list[Problem]:
    """Every problem of the trail: its chains (audit.verify_chain), the streams against the digests'
    heads, and the digests themselves.

    Without `at`: every record, every digest; a stream is judged against every digest (a tail
    removed before a digest is still caught by the digests before it). With `at` (RFC 3339 UTC):
    the trail as of then. The newest verifying digest at or before it is the reference; only the
    streams it names, up to the heads it recorded, are judged (records appended after it were not
    anchored yet), and only the digests up to it, as they were then (a version written or a delete
    marker placed later did not exist). No such digest: `not-anchored`."""
    if at is not None:
        digests = [d.as_of(at) for d in digests if d.time <= at]
    problems = _digest_problems(digests)
    anchor = reference(digests, at)
    if at is not None and anchor is None:
        return problems + [Problem("not-anchored", "*", f"no digest verifies at or before {at}: the trail as of then "
                                   "cannot be proven (the first digest is after it, or none was written)")]
    references = [anchor] if at is not None else [d for d in digests if d.authentic and key_time(d.key)]
    problems += _stream_problems(streams, references)
    if at is not None:
        heads = {h["stream"]: h["seq"] for h in anchor.document["streams"]}
        judged = {s: [r for r in streams.get(s, []) if isinstance(r.get("seq"), int) and r["seq"] <= seq] for s, seq in heads.items()}
    else:
        judged = streams
    for stream, records in sorted(judged.items()):
        chain = audit.verify_chain(stream, records)
        if chain:
            problems.append(Problem(chain.kind, chain.stream, chain.message, seq=chain.seq))
    return problems
