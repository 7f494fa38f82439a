"""The audit trail: hash chains that never fork, and tampering that `hubctl audit verify` names."""
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_hub import audit
from hubctl.cli import main as hubctl


def relink(records: list[dict]) -> list[dict]:
    """The records chained from the first on, as audit.append links them: each prev_hash the hash
    before it, each hash recomputed (internally valid, whatever was changed)."""
    prev, out = audit.GENESIS, []
    for r in records:
        r = dict(r, prev_hash=prev)
        r["hash"] = audit.record_hash(r)
        out.append(r)
        prev = r["hash"]
    return out


def _records(n: int, stream: str = "tenant#t1") -> list[dict]:
    """An intact chain of n records."""
    return relink([{"stream": stream, "seq": seq, "ts": f"2026-11-21T00:00:{seq:02d}.000Z", "workflow": "w", "execution": "e",
                    "action": f"A{seq}", "outcome": "SUCCEEDED", "actor": "admin", "detail": "{}"} for seq in range(1, n + 1)])


def test_intact_chain_verifies():
    assert audit.verify_chain("tenant#t1", _records(5)) is None


def test_redaction_keeps_secrets_and_prompts_out_of_detail():
    detail = audit.redact({"external_id": "abc", "nested": {"prompt": "tell me", "model": "m"}, "list": [{"token": "x"}]})
    assert detail == {"external_id": "[redacted]", "nested": {"prompt": "[redacted]", "model": "m"}, "list": [{"token": "[redacted]"}]}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_edit_deletion_insertion_or_reordering_is_found_at_the_first_bad_record(data):
    # Given an intact chain
    n = data.draw(st.integers(min_value=2, max_value=12))
    records = _records(n)
    kind = data.draw(st.sampled_from(["edit", "delete", "insert", "swap"]))
    i = data.draw(st.integers(min_value=0, max_value=n - 2))  # not the tail: see docs/limits.md
    tampered = [dict(r) for r in records]

    # When it is tampered with
    if kind == "edit":
        field = data.draw(st.sampled_from(["ts", "action", "outcome", "actor", "detail", "workflow"]))
        tampered[i][field] = tampered[i][field] + "x"
        expected_seq = i + 1
    elif kind == "delete":
        del tampered[i]
        expected_seq = i + 1
    elif kind == "insert":
        forged = dict(tampered[i], action="GrantModels", actor="intruder")
        forged["hash"] = audit.record_hash(forged)
        tampered.insert(i + 1, forged)
        # renumber what follows, as a careful intruder would
        for j, r in enumerate(tampered):
            r["seq"] = j + 1
        expected_seq = i + 2
    else:
        tampered[i], tampered[i + 1] = tampered[i + 1], tampered[i]
        expected_seq = i + 1

    # Then verification names the first bad record
    problem = audit.verify_chain("tenant#t1", tampered)
    assert problem is not None
    assert problem.seq == expected_seq, (kind, problem)


def test_concurrent_appends_never_fork_a_chain(hub):
    # Given many writers appending to the same stream at once
    table = hub.outputs["AuditTableName"]

    def write(k):
        for j in range(5):
            audit.append("tenant#busy", action=f"W{k}.{j}", outcome="SUCCEEDED", workflow="test", execution=f"e{k}", table=table)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then every append landed exactly once, in one unbroken chain
    records = audit.read_stream("tenant#busy", table=table)
    assert [r["seq"] for r in records] == list(range(1, 41))
    assert len({r["action"] for r in records}) == 40
    assert audit.verify_chain("tenant#busy", records) is None


@pytest.fixture
def onboarded(hub, onboard):
    from conftest import sample

    onboard(sample("onboarding/acme-retail-us.json"))
    return hub


def _put(hub, record: dict) -> None:
    from genai_hub.audit import _to_item

    hub.client("dynamodb").put_item(TableName=hub.outputs["AuditTableName"], Item=_to_item(record))


def test_audit_verify_passes_on_an_untouched_trail(onboarded, capsys):
    assert hubctl(["audit", "verify"]) == 0
    assert "audit trail intact" in capsys.readouterr().out


def test_audit_verify_names_an_edited_record(onboarded, capsys):
    # Given an intruder who rewrites what record 4 says (who was granted what)
    records = audit.read_stream("tenant#acme-retail", table=onboarded.outputs["AuditTableName"])
    edited = dict(records[3], detail=json.dumps({"models": ["anthropic.claude-3-opus"]}))
    _put(onboarded, edited)

    # When the trail is verified, Then it fails and names the record
    assert hubctl(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "tenant#acme-retail seq 4" in out and "altered" in out


def test_audit_verify_names_a_deleted_record(onboarded, capsys):
    onboarded.client("dynamodb").delete_item(
        TableName=onboarded.outputs["AuditTableName"], Key={"stream": {"S": "tenant#acme-retail"}, "seq": {"N": "2"}})
    assert hubctl(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "tenant#acme-retail seq 2" in out and "missing" in out


def test_audit_verify_names_an_inserted_record(onboarded, capsys):
    # Given a forged record slipped in after record 3 (with a correct hash of its own)
    records = audit.read_stream("tenant#acme-retail", table=onboarded.outputs["AuditTableName"])
    forged = dict(records[2], seq=7, action="GrantModels", actor="intruder", detail=json.dumps({"models": ["x"]}))
    forged["hash"] = audit.record_hash(forged)
    _put(onboarded, forged)

    assert hubctl(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "tenant#acme-retail seq 7" in out and "inserted" in out
