"""Evaluation metrics and the policy gate as pure functions: every expected number is worked out by hand."""
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from genai_hub import metrics, schemas
from genai_hub.errors import InvalidInput
from genai_hub.metrics import (contains_any, exact_match, normalize, percentile, rouge_l, score_items, token_f1,
                               worst_items)

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "layer" / "genai_hub" / "data" / "evaluation_policies"
DATASET = ROOT / "datasets" / "support-qa-v1.jsonl"


def item(id, output, reference, latency_ms=100.0, error=None, tags=("support",)):
    return {"id": id, "prompt": f"secret prompt {id}?", "reference": reference, "tags": list(tags),
            "output": output, "latency_ms": latency_ms, "error": error}


def policy(thresholds=None, **extra):
    return {"name": "test", "dataset": "datasets/x.jsonl", "thresholds": thresholds or {},
            "refusal_markers": ["I can't help with", "as an AI language model"],
            "banned_words": ["confidential-internal", "password:"], **extra}


# --- text metrics ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("The Cat, sat!  on a mat.", "cat sat on mat"),
    ("An apple a day", "apple day"),
    ("theater anthem", "theater anthem"),  # articles only as whole words
    ("It’s 30 days…", "its 30 days"),  # Unicode punctuation goes too
    ("  \n\t ", ""),
])
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_exact_match_compares_normalized_text():
    assert exact_match("The 30 days.", "30 days") == 1.0
    assert exact_match("30 days", "thirty days") == 0.0
    assert exact_match("", "") == 1.0


@pytest.mark.parametrize("prediction,reference,expected", [
    # [cat, sat] vs [cat, sat, down]: overlap 2, precision 2/2, recall 2/3 -> 2 * 1 * 2/3 / (5/3) = 0.8
    ("the cat sat", "cat sat down", 0.8),
    # counts matter: go x3 stop x1 vs go x1 stop x2: overlap min(3,1) + min(1,2) = 2,
    # precision 2/4, recall 2/3 -> 2 * 1/2 * 2/3 / (7/6) = 4/7
    ("go go go stop", "go stop stop", 4 / 7),
    # [it, takes, 5, to, 7, business, days] vs [5, to, 7, business, days]: precision 5/7, recall 1 -> 10/12
    ("It takes 5 to 7 business days", "5 to 7 business days", 5 / 6),
    ("yes", "no", 0.0),  # no shared token
    ("", "The.", 1.0),  # both empty after normalize
    ("", "30 days", 0.0),  # one empty
    ("30 days", "", 0.0),
])
def test_token_f1(prediction, reference, expected):
    assert token_f1(prediction, reference) == pytest.approx(expected)


@pytest.mark.parametrize("prediction,reference,expected", [
    # [cat, was, on, mat, today] vs [cat, sat, on, mat]: LCS = cat on mat = 3,
    # precision 3/5, recall 3/4 -> 2 * 0.6 * 0.75 / 1.35 = 2/3
    ("the cat was on a mat today", "the cat sat on the mat", 2 / 3),
    # order matters, unlike token F1: [mat, on, cat] vs [cat, on, mat] share a subsequence of 1 -> 1/3
    ("mat on cat", "cat on mat", 1 / 3),
    ("cat on mat", "The cat on the mat.", 1.0),
    ("yes", "no", 0.0),
    ("", "", 1.0),
    ("", "30 days", 0.0),
])
def test_rouge_l(prediction, reference, expected):
    assert rouge_l(prediction, reference) == pytest.approx(expected)


def test_token_f1_ignores_order_where_rouge_l_does_not():
    assert token_f1("mat on cat", "cat on mat") == 1.0
    assert rouge_l("mat on cat", "cat on mat") == pytest.approx(1 / 3)


@given(st.text(), st.text())
def test_text_metrics_are_between_0_and_1(prediction, reference):
    for metric in (exact_match, token_f1, rouge_l):
        assert 0.0 <= metric(prediction, reference) <= 1.0


@given(st.text())
def test_text_metrics_are_1_for_the_reference_itself(text):
    assume(normalize(text))
    assert exact_match(text, text) == token_f1(text, text) == rouge_l(text, text) == 1.0


# --- percentiles -------------------------------------------------------------------------------

def test_percentile_by_hand():
    # rank = (n - 1) * q / 100 = 3 * 0.95 = 2.85: 30 + 0.85 * (40 - 30) = 38.5
    assert percentile([40, 10, 30, 20], 95) == pytest.approx(38.5)
    # rank 1.5 between 2 and 3
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([7], 95) == 7.0
    assert percentile([], 50) is None


@pytest.mark.parametrize("values", [[1], [1, 2], [3, 1, 4, 1, 5, 9, 2, 6], [10.5, 200, 3.25, 7], list(range(100))])
@pytest.mark.parametrize("q", [0, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_matches_numpy_for_any_list(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_outside_0_100_is_refused(q):
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1, 2], q)


# --- phrases -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,phrases,expected", [
    ("This class is great", ["ass"], False),  # inside a word: no match
    ("What an ASS", ["ass"], True),
    ("your passwords are safe", ["password"], False),
    ("the login is password:hunter2", ["password:"], True),  # no boundary needed after ':'
    ("I can’t help with that", ["I can't help with"], True),  # a model's curly apostrophe
    ("I cannot\n  assist you", ["i cannot assist"], True),  # any whitespace between words
    ("Sure, 30 days", ["I can't help with", "as an AI language model"], False),
    ("anything", ["", "  "], False),  # blank phrases never match
    ("", ["ass"], False),
])
def test_contains_any(text, phrases, expected):
    assert contains_any(text, phrases) is expected


# --- score_items and the gate ------------------------------------------------------------------

def mixed_run():
    """Five items, one of each kind; the aggregates are worked out in test_mixed_run_aggregates."""
    return [
        item("a", "30 days", "30 days", latency_ms=100),  # em 1, f1 1, rouge 1
        item("b", "It takes 5 to 7 business days", "5 to 7 business days", latency_ms=200),  # em 0, f1 = rouge = 5/6
        item("c", "I can't help with that", "1 year", latency_ms=300),  # refused, 0
        item("d", None, "Orders over $50", latency_ms=5000, error="ThrottlingException: Too many requests"),
        # [1, year, per, confidentialinternal, memo] vs [1, year]: precision 2/5, recall 1 -> f1 = rouge = 4/7; banned
        item("e", "1 year, per confidential-internal memo", "1 year", latency_ms=500),
    ]


def test_mixed_run_aggregates():
    # When
    result = score_items(mixed_run(), policy())
    # Then
    assert result["aggregate"] == {
        "items": 5,
        "exact_match": 0.2,  # 1 / 5
        "token_f1": 0.481,  # (1 + 5/6 + 0 + 0 + 4/7) / 5 = (101/42) / 5 = 101/210 = 0.48095
        "rouge_l": 0.481,  # same per-item values as token F1 here
        "latency_p50_ms": 250.0,  # errored d left out: [100, 200, 300, 500], rank 1.5 -> 250
        "latency_p95_ms": 470.0,  # rank 3 * 0.95 = 2.85 -> 300 + 0.85 * 200
        "error_rate": 0.2,  # d
        "refusal_rate": 0.2,  # c
        "banned_content_rate": 0.2,  # e
    }
    by_id = {i["id"]: i for i in result["items"]}
    assert by_id["b"]["token_f1"] == pytest.approx(5 / 6) and by_id["e"]["rouge_l"] == pytest.approx(4 / 7)
    assert (by_id["c"]["refused"], by_id["c"]["banned"]) == (True, False)
    assert (by_id["e"]["refused"], by_id["e"]["banned"]) == (False, True)
    assert set(metrics.METRICS) | {"items"} == set(result["aggregate"])


def test_a_good_run_on_the_dataset_passes_the_default_policy():
    # Given: the model answers every dataset question with its reference, in 100..1200 ms
    default = schemas.validate_document("evaluation-policy", json.loads((POLICIES / "default.json").read_text()))
    rows = [json.loads(line) for line in DATASET.read_text().splitlines()]
    items = [row | {"output": row["reference"], "latency_ms": 100.0 * n, "error": None} for n, row in enumerate(rows, 1)]
    # When
    result = score_items(items, default)
    # Then
    assert result["gate"] == {"passed": True, "failures": []}
    assert result["aggregate"]["token_f1"] == result["aggregate"]["rouge_l"] == result["aggregate"]["exact_match"] == 1.0
    assert result["aggregate"]["latency_p95_ms"] == 1145.0  # rank 11 * 0.95 = 10.45 -> 1100 + 0.45 * 100


@pytest.mark.parametrize("metric,rule,value", [
    ("exact_match", {"min": 0.5}, 0.2),
    ("token_f1", {"min": 0.6}, 0.481),
    ("rouge_l", {"min": 0.5}, 0.481),
    ("latency_p50_ms", {"max": 200}, 250.0),
    ("latency_p95_ms", {"max": 400}, 470.0),
    ("error_rate", {"max": 0.05}, 0.2),
    ("refusal_rate", {"max": 0.1}, 0.2),
    ("banned_content_rate", {"max": 0}, 0.2),
])
def test_each_threshold_fails_naming_metric_value_and_threshold(metric, rule, value):
    # When
    gate = score_items(mixed_run(), policy({metric: rule}))["gate"]
    # Then
    (op, threshold), = rule.items()
    assert gate == {"passed": False, "failures": [{"metric": metric, "value": value, "op": op, "threshold": threshold}]}


def test_thresholds_are_inclusive():
    # the mixed run's own values as bounds: every one holds
    gate = score_items(mixed_run(), policy({"exact_match": {"min": 0.2}, "latency_p95_ms": {"max": 470},
                                            "banned_content_rate": {"max": 0.2}}))["gate"]
    assert gate == {"passed": True, "failures": []}


def test_errored_items_score_zero_and_count_in_error_rate():
    # Given: a right answer that errored anyway, an item with no output, a banned refusal that errored
    items = [item("ok", "30 days", "30 days"),
             item("err", "30 days", "30 days", error="ModelTimeoutException"),
             item("none", None, "30 days", error=None),
             item("bad", "I can't help with password: x", "30 days", error="ModelErrorException")]
    # When
    result = score_items(items, policy())
    # Then
    scored = {i["id"]: i for i in result["items"]}
    for id in ("err", "none", "bad"):
        assert (scored[id]["exact_match"], scored[id]["token_f1"], scored[id]["rouge_l"]) == (0.0, 0.0, 0.0)
        assert (scored[id]["refused"], scored[id]["banned"]) == (False, False)
    assert scored["none"]["error"] == "no output"
    assert result["aggregate"]["error_rate"] == 0.75  # 3 / 4
    assert result["aggregate"]["token_f1"] == 0.25  # (1 + 0 + 0 + 0) / 4
    assert result["aggregate"]["refusal_rate"] == result["aggregate"]["banned_content_rate"] == 0.0


def test_latency_ignores_errored_items():
    items = [item("a", "x", "x", latency_ms=100), item("b", "x", "x", latency_ms=300),
             item("slow", None, "x", latency_ms=60_000, error="ModelTimeoutException")]
    aggregate = score_items(items, policy())["aggregate"]
    assert (aggregate["latency_p50_ms"], aggregate["latency_p95_ms"]) == (200.0, 290.0)  # rank 0.95 -> 100 + 0.95 * 200


def test_a_metric_that_cannot_be_computed_fails_its_threshold():
    # Given: every invocation failed, so there is no latency at all
    items = [item("a", None, "x", latency_ms=5, error="AccessDeniedException")]
    # When
    result = score_items(items, policy({"latency_p95_ms": {"max": 5000}}))
    # Then
    assert result["aggregate"]["latency_p95_ms"] is None
    assert result["gate"]["failures"] == [{"metric": "latency_p95_ms", "value": None, "op": "max", "threshold": 5000}]


def test_an_empty_run_fails_every_threshold():
    result = score_items([], policy({"token_f1": {"min": 0}, "error_rate": {"max": 1}}))
    assert result["aggregate"]["items"] == 0 and result["aggregate"]["token_f1"] is None
    assert [f["metric"] for f in result["gate"]["failures"]] == ["token_f1", "error_rate"]


def test_an_unknown_threshold_metric_is_named():
    with pytest.raises(InvalidInput, match="bleu") as error:
        score_items(mixed_run(), policy({"bleu": {"min": 0.3}}))
    assert error.value.field == "$.thresholds.bleu"


def test_no_prompt_or_output_text_in_the_result():
    # Given
    items = mixed_run()
    # When
    result = score_items(items, policy({"token_f1": {"min": 0.9}}))
    # Then: only ids, tags and numbers are kept
    stored = json.dumps(result)
    for source in items:
        assert source["prompt"] not in stored
        if source["output"]:
            assert source["output"] not in stored
    assert all(set(i) == {"id", "tags", "exact_match", "token_f1", "rouge_l", "latency_ms", "error", "refused", "banned"}
               for i in result["items"])


def test_worst_items_errors_first_then_lowest_token_f1_in_run_order():
    # Given: c (refused) and f both score 0; c comes first in the run
    result = score_items(mixed_run() + [item("f", "no idea", "30 days")], policy())
    # Then
    assert [i["id"] for i in worst_items(result)] == ["d", "c", "f", "e", "b"]
    assert [i["id"] for i in worst_items(result, 2)] == ["d", "c"]
    assert worst_items(result, 0) == []


# --- policies and dataset ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "strict-support"])
def test_policy_file_validates(name):
    document = json.loads((POLICIES / f"{name}.json").read_text())
    validated = schemas.validate_document("evaluation-policy", document, f"{name}.json")
    assert validated["name"] == name


def test_policies_differ_as_intended():
    default, strict = (json.loads((POLICIES / f"{n}.json").read_text()) for n in ("default", "strict-support"))
    assert default["human_approval"]["required"] is True and strict["human_approval"]["required"] is False
    assert strict["thresholds"]["exact_match"] == {"min": 0.5}
    for metric, rule in default["thresholds"].items():
        ((op, bound),) = rule.items()
        stricter = strict["thresholds"][metric][op]
        assert stricter >= bound if op == "min" else stricter <= bound


def test_policy_schema_names_the_same_metrics_as_the_module():
    schema = json.loads(schemas.document_schema_path("evaluation-policy").read_text())
    assert tuple(schema["properties"]["thresholds"]["propertyNames"]["enum"]) == metrics.METRICS


def test_a_minimal_policy_gets_defaults():
    validated = schemas.validate_document("evaluation-policy", {
        "name": "tiny", "dataset": "s3://eval-bucket/sets/a.jsonl", "thresholds": {"token_f1": {"min": 0.5}}})
    assert validated == {
        "name": "tiny", "dataset": "s3://eval-bucket/sets/a.jsonl", "thresholds": {"token_f1": {"min": 0.5}},
        "max_items": 100, "max_concurrency": 4, "inference": {"max_tokens": 256, "temperature": 0},
        "refusal_markers": [], "banned_words": [], "human_approval": {"required": False, "timeout_seconds": 86400},
        "notify": []}


@pytest.mark.parametrize("change,field", [
    ({"dataset": "datasets/../secrets.jsonl"}, "$.dataset"),
    ({"dataset": "s3://bucket/../x"}, "$.dataset"),
    ({"name": "Default"}, "$.name"),
    ({"thresholds": {}}, "$.thresholds"),
    ({"thresholds": {"bleu": {"min": 0.3}}}, "$.thresholds"),
    ({"thresholds": {"token_f1": {"min": 0.5, "max": 0.9}}}, "$.thresholds.token_f1"),
    ({"thresholds": {"token_f1": {"at_least": 0.5}}}, "$.thresholds.token_f1"),
    ({"max_items": 101}, "$.max_items"),
    ({"inference": {"temperature": 1.5}}, "$.inference.temperature"),
    ({"human_approval": {"timeout_seconds": 0}}, "$.human_approval.timeout_seconds"),
    ({"extra": 1}, "$"),
])
def test_a_bad_policy_is_refused_naming_the_field(change, field):
    document = {"name": "support-p", "dataset": "datasets/a.jsonl", "thresholds": {"token_f1": {"min": 0.5}}} | change
    with pytest.raises(InvalidInput, match=r"^p\.json: ") as error:
        schemas.validate_document("evaluation-policy", document, "p.json")
    assert error.value.field == field


def test_dataset_lines_are_well_formed():
    rows = [json.loads(line) for line in DATASET.read_text().splitlines()]
    assert len(rows) == 12
    assert [r["id"] for r in rows] == [f"q{n:02d}" for n in range(1, 13)]
    for row in rows:
        assert set(row) == {"id", "prompt", "reference", "tags"}
        assert row["prompt"].strip() and normalize(row["reference"]) and row["tags"]
