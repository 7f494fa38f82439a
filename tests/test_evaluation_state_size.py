"""An evaluation too big for a Step Functions state (256 KiB) completes: prompts, references and
model outputs stay in the evaluation bucket, the execution's state carries positions and error names.

On the design it replaces (every item and every output in the state, outputs cut to 1,000
characters) this evaluation ends FAILED with States.DataLimitExceeded after *Run prompts*, the
version stuck EVALUATING: the emulator enforces the quota as AWS does (hubsim/patches/sfn_limits.py).
"""
import json
import shutil
import time

from test_evaluation import _version, research  # noqa: F401 (research is a fixture)

from genai_hub import evaluation
from hubsim import sample_model
from hubsim.patches.sfn_limits import MAX_PAYLOAD_BYTES, payload_bytes

ITEMS = 100  # the most a policy may ask for
REFERENCE_CHARS = 1_500


def _long_answers_dataset(items: int, reference_chars: int) -> list[dict]:
    """Support questions whose reference answers are `reference_chars` long (a procedure, a policy excerpt)."""
    words = ("please", "open", "settings", "then", "choose", "billing", "and", "confirm", "the", "refund", "within", "days")
    rows = []
    for n in range(1, items + 1):
        text, i = [f"step-{n}"], n
        while len(" ".join(text)) < reference_chars:
            text.append(words[i % len(words)])
            i += 7
        rows.append({"id": f"long-{n:03d}", "prompt": f"Question {n}: how do I get a refund for order {1000 + n}, step by step?",
                     "reference": " ".join(text)[:reference_chars], "tags": ["long"]})
    return rows


def _policy(tmp_path, monkeypatch, name: str, dataset_key: str) -> None:
    """strict-support (no person to wait for) on another dataset, as a policy file of the layer."""
    policies = tmp_path / "policies"
    shutil.copytree(evaluation._POLICIES, policies)
    document = json.loads((policies / "strict-support.json").read_text())
    document.update(name=name, dataset=dataset_key, max_items=ITEMS)
    (policies / f"{name}.json").write_text(json.dumps(document))
    monkeypatch.setattr(evaluation, "_POLICIES", policies)


def _evaluations_ended(hub, expected: int = 1, timeout: float = 240) -> list[dict]:
    """The evaluation executions once `expected` exist and none runs (deadline; any terminal status ends the wait)."""
    arn, deadline = hub.outputs["EvaluationStateMachineArn"], time.monotonic() + timeout
    while True:
        found = hub.executions(arn)
        if len(found) >= expected and all(e["status"] != "RUNNING" for e in found):
            return found
        assert time.monotonic() < deadline, f"evaluation still running or not started after {timeout}s: {found}"
        time.sleep(0.2)


def test_an_evaluation_whose_items_and_outputs_exceed_256_kib_completes_with_its_report(hub, research, monkeypatch, tmp_path):
    # Given a policy over 100 items whose answers are 1,500 characters long
    rows = _long_answers_dataset(ITEMS, REFERENCE_CHARS)
    hub.client("s3").put_object(Bucket=hub.outputs["EvaluationBucketName"], Key="datasets/long-answers.jsonl",
                                Body="\n".join(json.dumps(r) for r in rows).encode())
    _policy(tmp_path, monkeypatch, "long-answers", "datasets/long-answers.jsonl")
    # whose items and outputs would not fit in one state: 100 x ~1.6 KB of items + 100 x 1,500 characters of answers
    carried = payload_bytes({"items": rows, "outputs": [{"id": r["id"], "output": r["reference"]} for r in rows]})
    assert carried > MAX_PAYLOAD_BYTES

    # When a model that answers every item with its reference is imported and evaluated
    research_s3, drop_bucket = research
    answers = {"answers": {r["prompt"]: r["reference"] for r in rows}, "latency_ms": 240}
    sample_model.upload(research_s3, drop_bucket, "models/support-bot/2.0.0", {**sample_model.files(), "hubsim-answers.json": json.dumps(answers).encode()},
                        sample_model.manifest("support-bot", "2.0.0", evaluation_policy="long-answers"))
    [execution] = _evaluations_ended(hub)
    version = _version(hub, version="2.0.0")

    # Then the evaluation succeeded and promoted the version, on every item's full answer
    described = hub.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert (described["status"], version["status"]) == ("SUCCEEDED", "APPROVED"), (described.get("error"), described.get("cause"))
    aggregate = version["evaluation"]["aggregate"]
    assert int(aggregate["items"]) == ITEMS
    assert float(aggregate["exact_match"]) == 1.0 and float(aggregate["token_f1"]) == 1.0  # not cut to 1,000 characters
    assert float(aggregate["error_rate"]) == 0.0
    bucket, key = version["evaluation"]["result_uri"][5:].split("/", 1)
    report = json.loads(hub.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert [i["id"] for i in report["items"]] == [r["id"] for r in rows]
    assert all(i["token_f1"] == 1.0 and i["error"] is None for i in report["items"])

    # And no state carried more than a few KiB, nor any prompt, reference or answer
    history = hub.history(execution["executionArn"])
    payloads = [details.get(field) or "" for event in history for details in event.values() if isinstance(details, dict)
                for field in ("input", "output", "parameters")]
    assert max(payload_bytes(p) for p in payloads) < 16 * 1024
    everything = "\n".join(payloads)
    assert not [r["id"] for r in rows if r["prompt"] in everything or r["reference"][:200] in everything]

    # When ModelImported arrives again, Then the duplicate is ignored and copies no item to the bucket:
    # the run's objects are the items, one answer per item and the result, under this execution only
    [imported] = hub.executions(hub.outputs["ModelImportStateMachineArn"])
    detail = json.loads(hub.client("stepfunctions").describe_execution(executionArn=imported["executionArn"])["output"])["imported"]
    hub.put_event("ModelImported", detail)
    assert sorted(e["status"] for e in _evaluations_ended(hub, expected=2)) == ["SUCCEEDED", "SUCCEEDED"]
    run = key.removesuffix(".json")
    listed = hub.client("s3").list_objects_v2(Bucket=bucket, Prefix="evaluations/support-bot/2.0.0/")
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(
        [key, f"{run}/items.json"] + [f"{run}/outputs/{position}.json" for position in range(ITEMS)])
