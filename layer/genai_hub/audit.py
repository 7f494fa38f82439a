"""Tamper-evident audit trail: one hash chain per stream in the audit table.

Each record holds `seq` (sort key, 1, 2, 3 ...), the fields below and `prev_hash`;
`hash = sha256(canonical JSON of the record without hash)`. A record is written with the
condition that its `seq` is new, so two writers can never fork a chain: the loser re-reads the
head and appends after it. `verify_chain` recomputes a chain and names the first bad record.

No secrets and no prompts go into `detail`: callers pass identifiers and outcomes only.
"""
import hashlib
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from genai_hub import aws, config
from genai_hub.errors import AuditChainContention

GENESIS = "0" * 64
FIELDS = ("stream", "seq", "ts", "workflow", "execution", "action", "outcome", "actor", "detail", "prev_hash")
# Keys whose values never belong in the trail, whatever a caller passes.
_REDACTED_KEYS = {"external_id", "prompt", "prompts", "password", "secret", "token", "credentials"}
_MAX_ATTEMPTS = 60

_ser, _de = TypeSerializer(), TypeDeserializer()


def tenant_stream(tenant_id: str) -> str:
    return f"tenant#{tenant_id}"


def model_stream(model_id: str) -> str:
    return f"model#{model_id}"


def canonical(record: dict) -> str:
    return json.dumps({k: record[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: dict) -> str:
    return hashlib.sha256(canonical(record).encode("utf-8")).hexdigest()


def redact(detail):
    if isinstance(detail, dict):
        return {k: ("[redacted]" if k.lower() in _REDACTED_KEYS else redact(v)) for k, v in detail.items()}
    if isinstance(detail, list):
        return [redact(v) for v in detail]
    return detail


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def head(stream: str, table: str | None = None) -> dict | None:
    """The last record of a stream, or None for a new stream."""
    response = aws.client("dynamodb").query(
        TableName=table or config.audit_table(),
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "stream"},
        ExpressionAttributeValues={":s": {"S": stream}},
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
    )
    items = response.get("Items", [])
    return _from_item(items[0]) if items else None


def append(
    stream: str,
    *,
    action: str,
    outcome: str,
    workflow: str,
    execution: str,
    actor: str = "genai-hub",
    detail: dict | None = None,
    table: str | None = None,
    once: bool = False,
) -> dict:
    """Append one record to `stream` and return it. Safe under concurrent writers to the same stream.

    `once`: when the stream's last record is this very record (same action, execution and detail),
    return it instead: a batch step retried after a crash does not audit its tenants twice."""
    table = table or config.audit_table()
    detail_json = json.dumps(redact(detail or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    for attempt in range(_MAX_ATTEMPTS):
        last = head(stream, table)
        if once and last and (last["action"], last["execution"], last["detail"]) == (action, execution, detail_json):
            return last
        record = {
            "stream": stream,
            "seq": (last["seq"] + 1) if last else 1,
            "ts": _now(),
            "workflow": workflow,
            "execution": execution,
            "action": action,
            "outcome": outcome,
            "actor": actor,
            "detail": detail_json,
            "prev_hash": last["hash"] if last else GENESIS,
        }
        record["hash"] = record_hash(record)
        try:
            aws.client("dynamodb").put_item(
                TableName=table,
                Item=_to_item(record),
                # The chain never forks: a seq that exists already means another writer won.
                ConditionExpression="attribute_not_exists(#seq)",
                ExpressionAttributeNames={"#seq": "seq"},
            )
            return record
        except Exception as exc:  # botocore ClientError
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            # Full-jitter exponential backoff: concurrent writers of one stream spread out.
            time.sleep(random.uniform(0, min(0.25, 0.005 * 2 ** attempt)))
    raise AuditChainContention(f"audit stream {stream} kept changing during {_MAX_ATTEMPTS} attempts")


def read_stream(stream: str, table: str | None = None) -> list[dict]:
    pages = aws.client("dynamodb").get_paginator("query").paginate(
        TableName=table or config.audit_table(),
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "stream"},
        ExpressionAttributeValues={":s": {"S": stream}},
        ConsistentRead=True,
    )
    return [_from_item(i) for page in pages for i in page.get("Items", [])]


def read_all(table: str, dynamodb=None) -> dict[str, list[dict]]:
    """Every stream of the table, each sorted by seq."""
    dynamodb = dynamodb or aws.client("dynamodb")
    streams: dict[str, list[dict]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            record = _from_item(item)
            streams.setdefault(record["stream"], []).append(record)
    for records in streams.values():
        records.sort(key=lambda r: r["seq"])
    return streams


@dataclass(frozen=True)
class ChainProblem:
    stream: str
    seq: object
    kind: str  # altered | inserted | missing | reordered
    message: str


def verify_chain(stream: str, records: list[dict]) -> ChainProblem | None:
    """Recompute one chain (records sorted by seq); return its first problem, or None when intact."""
    expected_prev, expected_seq = GENESIS, 1
    for record in records:
        seq = record.get("seq")
        if seq != expected_seq:
            if isinstance(seq, int) and seq > expected_seq:
                return ChainProblem(stream, expected_seq, "missing", f"record {expected_seq} is missing (next found is {seq})")
            return ChainProblem(stream, seq, "inserted", f"record with seq {seq} does not belong at position {expected_seq}")
        if any(k not in record for k in FIELDS) or record.get("hash") != record_hash(record):
            if record.get("prev_hash") != expected_prev:
                return ChainProblem(stream, seq, "inserted", f"record {seq} does not link to record {seq - 1}: inserted or replaced")
            return ChainProblem(stream, seq, "altered", f"record {seq} was altered: its content no longer matches its hash")
        if record["prev_hash"] != expected_prev:
            return ChainProblem(stream, seq, "inserted", f"record {seq} does not link to record {seq - 1}: inserted or replaced")
        expected_prev, expected_seq = record["hash"], expected_seq + 1
    return None


def _to_item(record: dict) -> dict:
    return {k: _ser.serialize(v) for k, v in record.items()}


def _from_item(item: dict) -> dict:
    record = {k: _de.deserialize(v) for k, v in item.items()}
    if "seq" in record:
        seq = record["seq"]
        record["seq"] = int(seq) if seq == int(seq) else seq
    return record
