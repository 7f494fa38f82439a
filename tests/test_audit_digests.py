"""The audit trail anchored outside its table (issue 19): signed digests of every chain's head in an
Object Lock bucket, `hubctl audit verify` against them, and the daily JSON Lines export for Athena.

Unit tests first (genai_hub.digests.verify over digests built here, no AWS), then the whole path on
the local engine: the digest and export functions run as their template roles, the bucket and key
come from template.yaml, and the tampering is what someone with write access to the table or the
bucket could do.
"""
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from genai_hub import audit, digests
from genai_hub.digests import Digest, Version
from hubctl.cli import main as hubctl
from test_audit import _records as intact_chain, relink

T1, T2, T3 = "2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z"


# --- building blocks: chains and digests as the hub writes them ---------------------------------------

def _chain(stream: str, n: int) -> list[dict]:
    """An intact chain of n records (each with a valid hash), as audit.append writes them."""
    return intact_chain(n, stream)


def _version(body: bytes | None, at: str, status: str = "valid", vid: str = "v1") -> Version:
    return Version(vid, digests.parse_time(at), body, status if body is not None else "deleted")


def _digest(at: str, streams: dict[str, list[dict]], previous: Digest | None = None) -> Digest:
    """A digest of the streams' heads at `at`, as write_digest builds it, its signature taken as valid."""
    document = {"version": 1, "digest_time": at, "hub_account": "123456789012", "region": "us-east-1", "audit_table": "audit",
                "streams": [{"stream": s, "seq": r[-1]["seq"], "hash": r[-1]["hash"]} for s, r in sorted(streams.items()) if r],
                "previous_digest": {"key": previous.key, "sha256": previous.current.sha256, "digest_time": previous.time}
                if previous else None}
    return Digest(digests.digest_key(at), (_version(digests.canonical(document), at),))


def _later(d: Digest, version: Version) -> Digest:
    return Digest(d.key, (*d.versions, version))


def _kinds(problems) -> list[tuple[str, str]]:
    return sorted((p.kind, p.subject) for p in problems)


# --- unit: names, and what verify finds ---------------------------------------------------------------

def test_digest_keys_name_their_time_and_sort_as_their_times():
    assert digests.digest_key(T1) == "digests/2026/11/21/20261121T100000Z.json"
    assert digests.key_time("digests/2026/11/21/20261121T100000Z.json") == T1
    assert digests.key_time("digests/2026/11/22/20261121T100000Z.json") is None  # a day folder that is not its day
    assert digests.key_time("digests/notes.txt") is None
    times = ["2026-11-21T09:59:59Z", "2026-11-21T10:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"]
    assert sorted(digests.digest_key(t) for t in reversed(times)) == [digests.digest_key(t) for t in times]


def test_an_intact_trail_and_its_digests_verify_clean():
    streams = {"tenant#a": _chain("tenant#a", 3), "model#m": _chain("model#m", 2)}
    d1 = _digest(T1, streams)
    streams["tenant#a"] = _chain("tenant#a", 5)  # appended after the digest: not a problem
    d2 = _digest(T2, streams, d1)
    assert digests.verify(streams, [d1, d2]) == []
    assert digests.reference([d1, d2]).key == d2.key


def test_a_removed_tail_a_rewritten_chain_and_a_deleted_stream_are_named_from_the_digest():
    # Given three streams anchored by a digest
    streams = {"tenant#a": _chain("tenant#a", 5), "tenant#b": _chain("tenant#b", 3), "tenant#c": _chain("tenant#c", 2)}
    d1 = _digest(T1, streams)
    # When the tail of one is removed, another rewritten with fresh valid hashes, the third deleted
    tampered = {"tenant#a": streams["tenant#a"][:3],
                "tenant#b": relink([dict(r, actor="intruder") for r in streams["tenant#b"]])}
    assert all(audit.verify_chain(s, r) is None for s, r in tampered.items())  # the chains alone see nothing
    problems = digests.verify(tampered, [d1])
    # Then each is named, with what the digest saw
    assert _kinds(problems) == [("rewritten", "tenant#b"), ("stream-deleted", "tenant#c"), ("tail-removed", "tenant#a")]
    by_kind = {p.kind: p for p in problems}
    assert by_kind["tail-removed"].message.startswith(f"stream tenant#a had 5 records at digest {T1}, now 3: records 4 to 5 were removed")
    assert by_kind["rewritten"].seq == 3 and "record 3 of tenant#b is not the one digest" in by_kind["rewritten"].message
    assert by_kind["stream-deleted"].message == f"stream tenant#c had 2 records at digest {T1} and is gone from the audit table"
    assert {p.digest for p in problems} == {d1.key}


def test_a_later_digest_of_the_shortened_stream_does_not_hide_the_tail_an_earlier_one_saw():
    full = _chain("tenant#a", 6)
    d1 = _digest(T1, {"tenant#a": full})
    d2 = _digest(T2, {"tenant#a": full[:4]}, d1)  # the hourly digest after the truncation records 4
    [problem] = digests.verify({"tenant#a": full[:4]}, [d1, d2])
    assert (problem.kind, problem.digest) == ("tail-removed", d1.key)
    assert "had 6 records" in problem.message and "now 4" in problem.message


def test_digests_unsigned_forged_gone_replaced_or_written_over_are_named():
    streams = {"tenant#a": _chain("tenant#a", 2)}
    d1 = _digest(T1, streams)
    d2 = _digest(T2, streams, d1)
    d3 = _digest(T3, streams, d2)
    # d1 written over (a second version that does not verify), d2 hidden by a delete marker, one object unsigned,
    # one whose signature does not verify
    overwritten = _later(d1, Version("v2", digests.parse_time(T3), b'{"forged": true}', "invalid", "its signature does not verify"))
    deleted = _later(d2, _version(None, T3, vid="marker"))
    unsigned = Digest(digests.digest_key("2026-11-21T12:30:00Z"),
                      (Version("v1", digests.parse_time(T3), b"{}", "missing", "it has no signature in its metadata"),))
    problems = digests.verify(streams, [overwritten, deleted, d3, unsigned])
    assert _kinds(problems) == sorted([("digest-overwritten", d1.key), ("digest-tampered", d1.key), ("digest-missing", d1.key),
                                       ("digest-missing", d2.key), ("digest-unsigned", unsigned.key)])
    messages = {(p.kind, p.subject): p.message for p in problems}
    assert "was deleted: a delete marker" in messages[("digest-missing", d2.key)]
    assert "Object Lock keeps its version v1" in messages[("digest-missing", d2.key)]
    assert f"is not the one digest {d2.key} follows" in messages[("digest-missing", d1.key)] and "replaced" in messages[("digest-missing", d1.key)]
    assert "has 2 versions: someone wrote over it" in messages[("digest-overwritten", d1.key)]
    # The stream is still judged against the versions the hub wrote (Object Lock kept them): nothing there
    assert not any(p.kind in ("tail-removed", "rewritten", "stream-deleted") for p in problems)
    # A digest whose predecessor is gone altogether
    [gone] = digests.verify(streams, [d2])
    assert (gone.kind, gone.subject) == ("digest-missing", d1.key) and "is gone" in gone.message


def test_at_proves_the_trail_as_of_a_digest_and_ignores_what_came_after():
    # Given a digest at T1, more records, a digest at T2; then a record after T1 altered and T2's digest written over
    streams = {"tenant#a": _chain("tenant#a", 3)}
    d1 = _digest(T1, streams)
    grown = _chain("tenant#a", 5)
    d2 = _digest(T2, {"tenant#a": grown}, d1)
    grown[4] = dict(grown[4], actor="intruder")
    forged = _later(d2, Version("v2", digests.parse_time(T3), b"{}", "invalid", "does not verify"))
    # Then the whole trail fails, and the trail as of T1 is proven by d1
    assert {p.kind for p in digests.verify({"tenant#a": grown}, [d1, forged])} >= {"altered", "digest-overwritten", "digest-tampered"}
    assert digests.verify({"tenant#a": grown}, [d1, forged], at="2026-11-21T10:30:00Z") == []
    assert digests.reference([d1, forged], at="2026-11-21T10:30:00Z").key == d1.key
    # A version written over d1 after T1 did not exist at T1; one written before it did
    late = _later(d1, Version("v2", digests.parse_time(T2), b"{}", "invalid", "does not verify"))
    assert digests.verify({"tenant#a": grown}, [late], at=T1) == []
    assert "digest-overwritten" in {p.kind for p in digests.verify({"tenant#a": grown}, [late], at=T2)}
    # Before the first digest nothing can be proven
    [problem] = digests.verify({"tenant#a": grown}, [d1, forged], at="2026-11-21T09:00:00Z")
    assert problem.kind == "not-anchored"


def test_a_second_digest_in_the_same_second_is_not_written(monkeypatch):
    # Given a conditional write that S3 refuses because the key exists (412), then one it refuses otherwise
    class S3:
        def __init__(self, code):
            self.code = code

        def put_object(self, **kwargs):
            assert kwargs["IfNoneMatch"] == "*" and kwargs["Metadata"]["signature-algorithm"] == "ECDSA_SHA_256"
            raise ClientError({"Error": {"Code": self.code, "Message": "refused"}}, "PutObject")

    class Kms:
        def sign(self, **kwargs):
            assert kwargs["MessageType"] == "DIGEST" and len(kwargs["Message"]) == 32
            return {"Signature": b"\x30\x44"}

    monkeypatch.setenv("HUB_ACCOUNT_ID", "123456789012")
    monkeypatch.setattr(digests, "read_heads", lambda table: [{"stream": "tenant#a", "seq": 2, "hash": "h"}])
    monkeypatch.setattr(digests, "_previous", lambda s3, bucket, before: None)
    for code, written in (("PreconditionFailed", False), ("ConditionalRequestConflict", False), ("AccessDenied", None)):
        monkeypatch.setattr(digests.aws, "client", lambda service, s3=S3(code): s3 if service == "s3" else Kms())
        now = datetime(2026, 11, 21, 10, 0, 0, 400000, tzinfo=timezone.utc)
        if written is None:  # anything else is a failure, not "already written"
            with pytest.raises(ClientError):
                digests.write_digest(now, table="audit", bucket="b", key_arn="k")
            continue
        result = digests.write_digest(now, table="audit", bucket="b", key_arn="k")
        assert (result["written"], result["key"]) == (False, "digests/2026/11/21/20261121T100000Z.json")
        assert "exists already" in result["reason"]


# --- the local engine: the functions, the bucket and the key of template.yaml ---------------------------------

@pytest.fixture
def onboarded(hub, onboard):
    from conftest import sample

    onboard(sample("onboarding/acme-retail-us.json"))
    return hub


def _next_second() -> None:
    """Digests are named to the second: the next one must be in a later second than the last."""
    time.sleep(1.02 - time.time() % 1)


def _write_digest(hub) -> dict:
    """The digest function, invoked as its schedule and `hubctl audit digest` do."""
    _next_second()
    answer = hub.client("lambda").invoke(FunctionName=hub.outputs["AuditDigestFunctionName"], Payload=b'{"requested_by": "test"}')
    result = json.loads(answer["Payload"].read())
    assert not answer.get("FunctionError"), result
    assert result["written"], result
    return result


def _records(hub, stream: str = "tenant#acme-retail") -> list[dict]:
    return audit.read_stream(stream, table=hub.outputs["AuditTableName"])


def _put(hub, record: dict) -> None:
    hub.client("dynamodb").put_item(TableName=hub.outputs["AuditTableName"], Item=audit._to_item(record))


def _delete(hub, stream: str, seq: int) -> None:
    hub.client("dynamodb").delete_item(TableName=hub.outputs["AuditTableName"],
                                       Key={"stream": {"S": stream}, "seq": {"N": str(seq)}})


def test_a_digest_is_written_signed_locked_and_verified_clean(onboarded, capsys):
    hub, s3, kms = onboarded, onboarded.client("s3"), onboarded.client("kms")
    bucket, key_arn = hub.outputs["AuditDigestBucketName"], hub.outputs["AuditDigestKeyArn"]
    records = _records(hub)

    # When an operator writes a digest (hubctl invokes the digest function)
    assert hubctl(["audit", "digest"]) == 0
    out = capsys.readouterr().out
    [listed] = s3.list_objects_v2(Bucket=bucket, Prefix="digests/")["Contents"]
    assert f"digest written: s3://{bucket}/{listed['Key']}" in out and "1 chains, 6 records; the first digest" in out

    # Then it holds every chain's head, signed with the hub's key (checked here with KMS as an auditor would)
    got = s3.get_object(Bucket=bucket, Key=listed["Key"])
    body, metadata = got["Body"].read(), got["Metadata"]
    document = json.loads(body)
    assert body == digests.canonical(document) and document["version"] == 1 and document["previous_digest"] is None
    assert document["streams"] == [{"stream": "tenant#acme-retail", "seq": len(records), "hash": records[-1]["hash"]}]
    assert (document["hub_account"], document["audit_table"]) == ("123456789012", hub.outputs["AuditTableName"])
    assert listed["Key"] == digests.digest_key(document["digest_time"])
    assert (metadata["signature-algorithm"], metadata["signing-key"]) == ("ECDSA_SHA_256", key_arn)
    assert digests.check_signature(kms, key_arn, listed["Key"], body, metadata) == ("valid", "")
    # locked in COMPLIANCE mode for AuditDigestRetentionDays (365 by default)
    head = s3.head_object(Bucket=bucket, Key=listed["Key"])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs((head["ObjectLockRetainUntilDate"] - datetime.now(timezone.utc) - timedelta(days=365)).total_seconds()) < 300

    # A second digest with nothing new is still written, and follows the first
    second = _write_digest(hub)
    assert second["previous_digest"] == listed["Key"] and second["records"] == len(records)

    # And the trail verifies against both
    assert hubctl(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "audit trail intact: 1 chains, 6 records verified" in out and "anchored by 2 signed digest(s)" in out


def test_object_lock_refuses_to_overwrite_or_delete_a_digest(onboarded):
    s3, bucket = onboarded.client("s3"), onboarded.outputs["AuditDigestBucketName"]
    key = _write_digest(onboarded)["key"]
    [version] = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    # A conditional write over it: 412
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    # Deleting the version: AccessDenied, even for the account's root user, and with the governance bypass
    for bypass in ({}, {"BypassGovernanceRetention": True}):
        with pytest.raises(ClientError) as refused:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"], **bypass)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
    # The bucket is as the template says: Object Lock with COMPLIANCE default retention, versioning on
    rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert rule["ObjectLockEnabled"] == "Enabled" and rule["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert rule["Rule"]["DefaultRetention"]["Days"] == 365


def test_a_removed_tail_after_a_digest_is_named(onboarded, capsys):
    # Given a digest of the tenant's chain (6 records)
    _write_digest(onboarded)
    # When its last two records are deleted (a valid, shorter chain: the chain check alone passes)
    for seq in (6, 5):
        _delete(onboarded, "tenant#acme-retail", seq)
    assert audit.verify_chain("tenant#acme-retail", _records(onboarded)) is None
    # Then verify fails and says what the digest saw, and what to do
    assert hubctl(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED tail-removed: stream tenant#acme-retail had 6 records at digest" in out
    assert "now 4: records 5 to 6 were removed" in out and "point-in-time" in out


def test_a_chain_rewritten_with_fresh_hashes_is_named(onboarded, capsys):
    # Given a digest of the chain
    digest = _write_digest(onboarded)
    # When every record is written again with a detail of the intruder's and fresh, internally valid hashes
    records = _records(onboarded)
    rewritten = relink([dict(r, detail=json.dumps({"models": ["anthropic.claude-3-opus"]})) if r["seq"] == 2 else r for r in records])
    for record in rewritten:
        _put(onboarded, record)
    assert audit.verify_chain("tenant#acme-retail", _records(onboarded)) is None
    # Then the record at the digest's head is not the one it saw
    assert hubctl(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"TAMPERED rewritten: record 6 of tenant#acme-retail is not the one digest {digest['digest_time']} saw" in out
    assert "tail-removed" not in out


def test_digests_written_over_deleted_or_forged_are_named(onboarded, capsys):
    s3, bucket = onboarded.client("s3"), onboarded.outputs["AuditDigestBucketName"]
    first, second, third = (_write_digest(onboarded)["key"] for _ in range(3))
    # When the first is written over (Object Lock adds a version; its metadata copied to look signed),
    original = s3.get_object(Bucket=bucket, Key=first)
    forged = json.loads(original["Body"].read())
    forged["streams"] = []
    s3.put_object(Bucket=bucket, Key=first, Body=digests.canonical(forged), Metadata=original["Metadata"])
    # the second deleted (a delete marker: its locked version stays), and an unsigned one slipped in
    s3.delete_object(Bucket=bucket, Key=second)
    unsigned = digests.digest_key(digests.time_text(datetime.now(timezone.utc) - timedelta(hours=1)))
    s3.put_object(Bucket=bucket, Key=unsigned, Body=b"{}")
    # Then each is named
    assert hubctl(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"TAMPERED digest-overwritten: digest {first} has 2 versions: someone wrote over it" in out
    assert f"TAMPERED digest-tampered: digest {first}: its signature does not verify with the hub's key" in out
    assert f"TAMPERED digest-missing: digest {first} is not the one digest {second} follows" in out
    assert f"TAMPERED digest-missing: digest {second} was deleted: a delete marker" in out
    assert f"TAMPERED digest-unsigned: digest {unsigned}: it has no signature in its metadata" in out
    assert "tail-removed" not in out and "rewritten" not in out  # the records themselves were not touched
    assert third not in out  # the newest digest is fine


def test_at_proves_the_trail_as_of_an_older_digest_while_a_later_tampering_exists(onboarded, capsys):
    # Given a digest, two more records, a second digest
    older = _write_digest(onboarded)
    table = onboarded.outputs["AuditTableName"]
    for n in (1, 2):
        audit.append("tenant#acme-retail", action=f"Later{n}", outcome="SUCCEEDED", workflow="test", execution="later", table=table)
    newer = _write_digest(onboarded)
    # When the two later records are removed and the newer digest written over
    for seq in (8, 7):
        _delete(onboarded, "tenant#acme-retail", seq)
    s3, bucket = onboarded.client("s3"), onboarded.outputs["AuditDigestBucketName"]
    s3.put_object(Bucket=bucket, Key=newer["key"], Body=b"{}")
    # Then the trail fails ...
    assert hubctl(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "tail-removed" in out and "digest-overwritten" in out
    # ... and the trail as of the older digest is proven by it
    assert hubctl(["audit", "verify", "--at", older["digest_time"]]) == 0
    out = capsys.readouterr().out
    assert f"audit trail as of {older['digest_time']} intact: digest {older['digest_time']} ({older['key']}) proves 1 chains, 6 records" in out
    # Before the first digest nothing can be proven; a time that is no time is a usage error
    assert hubctl(["audit", "verify", "--at", "2020-01-01"]) == 1
    assert "TAMPERED not-anchored: no digest verifies at or before 2020-01-01T00:00:00Z" in capsys.readouterr().out
    assert hubctl(["audit", "verify", "--at", "yesterday"]) == 2
    assert "--at 'yesterday': expected an RFC 3339 date-time" in capsys.readouterr().err


def test_the_daily_export_is_the_days_records_as_json_lines_for_athena(hub):
    from hubsim.deploy import load_template
    from conftest import ROOT

    # Given yesterday's records of two streams (a valid chain each) and one of today
    table, s3, bucket = hub.outputs["AuditTableName"], hub.client("s3"), hub.outputs["AuditDigestBucketName"]
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    for stream, n in (("tenant#acme-retail", 3), ("model#support-bot", 2)):
        for r in relink([dict(r, ts=f"{yesterday}T08:00:0{r['seq']}.000Z", actor="ops@example.com" if r["seq"] == 2 else "admin")
                          for r in _chain(stream, n)]):
            _put(hub, r)
    audit.append("tenant#today", action="Today", outcome="SUCCEEDED", workflow="test", execution="e", table=table)

    # When the daily schedule runs (no day: the UTC day before its scheduled time)
    invoke = hub.client("lambda").invoke
    function = [f["FunctionName"] for f in hub.client("lambda").list_functions()["Functions"] if "ExportAuditRecords" in f["FunctionName"]][0]
    scheduled = json.dumps({"scheduled_time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()
    answer = invoke(FunctionName=function, Payload=scheduled)
    result = json.loads(answer["Payload"].read())
    assert not answer.get("FunctionError"), result
    key = f"exports/audit/dt={yesterday}/records.jsonl"
    assert result == {"day": yesterday, "key": key, "exported": True, "records": 5}

    # Then the export, parsed back line by line, is that day's records as the table holds them (hash included)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    lines = body.splitlines()
    rows = [json.loads(line) for line in lines]
    table_records = [r for s in ("model#support-bot", "tenant#acme-retail") for r in audit.read_stream(s, table=table)]
    assert rows == table_records and all("hash" in r for r in rows) and body.endswith("\n")
    # Each line is one JSON object with exactly the Glue table's columns (the OpenX JSON SerDe reads one object a line);
    # the partition is the day in the path
    glue = load_template(ROOT / "template.yaml")["Resources"]["AuditRecordsGlueTable"]["Properties"]["TableInput"]
    columns = [c["Name"] for c in glue["StorageDescriptor"]["Columns"]]
    assert all(set(row) == set(columns) for row in rows)
    assert glue["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert [p["Name"] for p in glue["PartitionKeys"]] == ["dt"] and key.startswith("exports/audit/dt=")
    # SELECT stream, seq, action FROM audit_records WHERE dt = '<yesterday>' AND actor = 'ops@example.com' ORDER BY stream, seq
    partition = key.split("/")[2].split("=", 1)[1]
    selected = [(r["stream"], r["seq"], r["action"]) for r in rows if partition == yesterday and r["actor"] == "ops@example.com"]
    assert selected == [("model#support-bot", 2, "A2"), ("tenant#acme-retail", 2, "A2")]

    # A second run leaves the export as it is (one version, still locked); today cannot be exported yet
    again = json.loads(invoke(FunctionName=function, Payload=json.dumps({"day": yesterday}).encode())["Payload"].read())
    assert again["exported"] is False and "left as it is" in again["reason"]
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) == 1
    assert s3.head_object(Bucket=bucket, Key=key)["ObjectLockMode"] == "COMPLIANCE"
    today = datetime.now(timezone.utc).date().isoformat()
    refused = invoke(FunctionName=function, Payload=json.dumps({"day": today}).encode())
    error = json.loads(refused["Payload"].read())
    assert refused.get("FunctionError") and error["errorType"] == "InvalidInput" and "is not over yet" in error["errorMessage"]


def test_audit_help_teaches_verify_at_and_digest(capsys):
    for argv in (["audit", "--help"], ["audit", "verify", "--help"], ["audit", "digest", "--help"]):
        with pytest.raises(SystemExit) as done:
            hubctl(argv)
        assert done.value.code == 0
    out = capsys.readouterr().out
    assert "hubctl audit verify --at 2026-11-21T10:00:00Z" in out and "hubctl audit digest" in out
    for kind in ("tail-removed", "rewritten", "stream-deleted", "digest-tampered", "digest-missing", "digest-overwritten"):
        assert kind in out
    assert "--at TIME" in out and "lambda:InvokeFunction" in out
