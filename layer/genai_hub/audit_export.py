"""Daily export of the audit records to S3 as JSON Lines, for Athena (docs/auditor.md).

`exports/audit/dt=YYYY-MM-DD/records.jsonl` in the digest bucket: one JSON object per line, each a
record of that UTC day (its `ts`) with every field of the audit table and its `hash`, sorted by
stream and seq. The `dt=` prefix is the Hive partition the Glue table `audit_records` projects.
Written once (If-None-Match "*"): an existing export of the day is left as it is, and Object Lock
keeps it, so the export is a second, locked copy of the records next to the digests that anchor
them.
"""
import json
import re
from datetime import date, datetime, timedelta, timezone

from genai_hub import audit, aws, config
from genai_hub.errors import InvalidInput

PREFIX = "exports/audit/"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def export_key(day: str) -> str:
    return f"{PREFIX}dt={day}/records.jsonl"


def day_to_export(request: dict, now: datetime | None = None) -> str:
    """The `day` asked for, or the UTC day before the scheduled time (before now when there is none).
    A day that is not over yet is refused: its export would be locked incomplete."""
    today = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date()
    day = request.get("day")
    if day is None:
        scheduled = request.get("scheduled_time")
        try:
            base = datetime.fromisoformat(scheduled.replace("Z", "+00:00")).astimezone(timezone.utc).date() if scheduled else today
        except (AttributeError, ValueError):
            raise InvalidInput(f"$.scheduled_time: {scheduled!r} is not an RFC 3339 date-time", field="$.scheduled_time") from None
        return (base - timedelta(days=1)).isoformat()
    if not isinstance(day, str) or not _DAY.match(day):
        raise InvalidInput(f"$.day: {day!r} is not a day YYYY-MM-DD", field="$.day")
    try:
        asked = date.fromisoformat(day)
    except ValueError:
        raise InvalidInput(f"$.day: {day} is not a day of the calendar", field="$.day") from None
    if asked >= today:
        raise InvalidInput(f"$.day: {day} is not over yet (UTC): export it from {(asked + timedelta(days=1)).isoformat()} on",
                           field="$.day")
    return day


def read_day(day: str, table: str | None = None, dynamodb=None) -> list[dict]:
    """The records appended on `day` (UTC), sorted by stream and seq. A Scan with a filter
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html): DynamoDB reads,
    and charges, the whole table once a day, the cost of one hourly digest; the filter only trims
    what comes back."""
    dynamodb = dynamodb or aws.client("dynamodb")
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table or config.audit_table(), FilterExpression="begins_with(#ts, :day)",
        ExpressionAttributeNames={"#ts": "ts"}, ExpressionAttributeValues={":day": {"S": day + "T"}})
    records = [audit._from_item(item) for page in pages for item in page.get("Items", [])]
    return sorted(records, key=lambda r: (r["stream"], r["seq"]))


def json_lines(records: list[dict]) -> bytes:
    """One record per line, its fields as in the table (the OpenX JSON SerDe reads one object a line)."""
    return "".join(json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
                   for r in records).encode("utf-8")


def export_day(request: dict, *, now: datetime | None = None, table: str | None = None, bucket: str | None = None) -> dict:
    """Export one day's records (see day_to_export); safe to repeat.

    PutObject with If-None-Match "*": https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html"""
    day = day_to_export(request, now)
    key, bucket = export_key(day), bucket or config.audit_digest_bucket()
    records = read_day(day, table)
    try:
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=json_lines(records), IfNoneMatch="*",
                                    ContentType="application/x-ndjson", ChecksumAlgorithm="SHA256")
    except Exception as exc:  # botocore ClientError
        if aws.error_code(exc) not in ("PreconditionFailed", "ConditionalRequestConflict"):
            raise
        return {"day": day, "key": key, "exported": False, "reason": f"{key} exists already: left as it is"}
    return {"day": day, "key": key, "exported": True, "records": len(records)}
