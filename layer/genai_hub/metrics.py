"""Scores of a model version's evaluation run, and the gate its evaluation policy sets.

After a model import the hub runs every prompt of the policy's dataset against the new version;
this module turns those outputs into per-item scores (SQuAD exact match and token F1, ROUGE-L),
run aggregates (means, latency percentiles, error/refusal/banned-content rates) and a pass/fail
gate against the policy's thresholds. Pure functions over plain data, standard library only, so
every number can be checked by hand in a unit test. Results keep only each item's id and tags,
never its prompt or output text: they are stored next to the audit trail.
"""
import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable

from genai_hub.errors import InvalidInput

METRICS = ("exact_match", "token_f1", "rouge_l", "latency_p50_ms", "latency_p95_ms",
           "error_rate", "refusal_rate", "banned_content_rate")
"""The aggregate keys a policy can set a threshold on (evaluation-policy.json lists the same)."""

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MAX_ERROR_CHARS = 500
# Curly quotes are what models print; fold them so "I can’t help with" matches "I can't help with".
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _is_punctuation(char: str) -> bool:
    # SQuAD strips string.punctuation; Unicode punctuation (’ … «) too, or "it’s" never equals "its".
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def normalize(text: str) -> str:
    """SQuAD answer normalization: lowercase, drop punctuation, drop articles, collapse whitespace."""
    text = "".join(c for c in text.lower() if not _is_punctuation(c))
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 if both normalize to the same text, else 0.0."""
    return 1.0 if normalize(prediction) == normalize(reference) else 0.0


def _f1(overlap: int, predicted: int, expected: int) -> float:
    if predicted == 0 and expected == 0:
        return 1.0
    if overlap == 0:
        return 0.0
    precision, recall = overlap / predicted, overlap / expected
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1: harmonic mean of precision and recall of the shared normalized tokens (with counts)."""
    predicted, expected = normalize(prediction).split(), normalize(reference).split()
    overlap = sum((Counter(predicted) & Counter(expected)).values())
    return _f1(overlap, len(predicted), len(expected))


def _lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence, one DP row at a time (O(len(a) * len(b)) time)."""
    if len(b) > len(a):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 (beta = 1): precision LCS/len(prediction), recall LCS/len(reference), on normalized tokens."""
    predicted, expected = normalize(prediction).split(), normalize(reference).split()
    return _f1(_lcs_length(predicted, expected), len(predicted), len(expected))


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0 <= q <= 100), interpolating linearly between closest ranks like numpy's
    default method; None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be between 0 and 100, got {q}")
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def _phrase_pattern(phrase: str) -> str:
    # A boundary only where the phrase starts or ends with a word character: "ass" must not match
    # "class", but "password:" must still match "password:hunter2".
    body = r"\s+".join(map(re.escape, phrase.translate(_QUOTES).split()))
    start = r"\b" if re.match(r"\w", phrase.strip()) else ""
    end = r"\b" if re.search(r"\w$", phrase.strip()) else ""
    return start + body + end


def contains_any(text: str, phrases: Iterable[str]) -> bool:
    """Whether any phrase occurs in text, ignoring case, as whole words (blank phrases never match)."""
    patterns = [_phrase_pattern(p) for p in phrases if p.strip()]
    if not patterns or not text:
        return False
    return re.search("|".join(f"(?:{p})" for p in patterns), text.translate(_QUOTES), re.IGNORECASE) is not None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _score_item(item: dict, refusal_markers: list[str], banned_words: list[str]) -> dict:
    output, error = item.get("output"), item.get("error")
    if error is None and output is None:
        error = "no output"
    scored = {"id": item["id"], "tags": list(item.get("tags") or []), "latency_ms": item.get("latency_ms"),
              # an invocation error is for a person to read; capped so a verbose one cannot bloat the result
              "error": None if error is None else str(error)[:_MAX_ERROR_CHARS]}
    if error is not None:
        return scored | {"exact_match": 0.0, "token_f1": 0.0, "rouge_l": 0.0, "refused": False, "banned": False}
    reference = item.get("reference") or ""
    return scored | {
        "exact_match": exact_match(output, reference),
        "token_f1": token_f1(output, reference),
        "rouge_l": rouge_l(output, reference),
        "refused": contains_any(output, refusal_markers),
        "banned": contains_any(output, banned_words),
    }


def _aggregate(items: list[dict]) -> dict:
    ok = [i for i in items if i["error"] is None]
    latencies = [i["latency_ms"] for i in ok if i["latency_ms"] is not None]
    count = len(items)

    def rate(flag: str) -> float | None:
        return sum(1 for i in items if i[flag]) / count if count else None

    return {
        "items": count,
        "exact_match": _rounded(_mean([i["exact_match"] for i in items])),
        "token_f1": _rounded(_mean([i["token_f1"] for i in items])),
        "rouge_l": _rounded(_mean([i["rouge_l"] for i in items])),
        "latency_p50_ms": _rounded(percentile(latencies, 50)),
        "latency_p95_ms": _rounded(percentile(latencies, 95)),
        "error_rate": _rounded((count - len(ok)) / count if count else None),
        "refusal_rate": _rounded(rate("refused")),
        "banned_content_rate": _rounded(rate("banned")),
    }


def _gate(aggregate: dict, thresholds: dict) -> dict:
    failures = []
    for metric, rule in thresholds.items():
        if metric not in aggregate:
            raise InvalidInput(f"$.thresholds: no metric named {metric!r} (one of {', '.join(METRICS)})",
                               field=f"$.thresholds.{metric}")
        value = aggregate[metric]
        for op in ("min", "max"):
            if op not in rule:
                continue
            threshold = rule[op]
            # a metric that could not be computed (no items, no latencies) fails: the gate fails closed
            passed = value is not None and (value >= threshold if op == "min" else value <= threshold)
            if not passed:
                failures.append({"metric": metric, "value": value, "op": op, "threshold": threshold})
    return {"passed": not failures, "failures": failures}


def score_items(items: list[dict], policy: dict) -> dict:
    """Per-item scores, run aggregates and the policy's gate.

    An item with an `error` (or no `output`) scores 0 on every text metric and counts in
    `error_rate`; its latency is left out of the percentiles, and refusal and banned content are
    only looked for in outputs. Rates are fractions of all items. Aggregates are rounded to 4
    decimals and compared against `policy["thresholds"]` as rounded.
    """
    refusal_markers, banned_words = policy.get("refusal_markers", []), policy.get("banned_words", [])
    scored = [_score_item(item, refusal_markers, banned_words) for item in items]
    aggregate = _aggregate(scored)
    return {"items": scored, "aggregate": aggregate, "gate": _gate(aggregate, policy.get("thresholds", {}))}


def worst_items(result: dict, n: int = 5) -> list[dict]:
    """The n items of a score_items result with the lowest token F1, errored items first; ties keep run order."""
    ranked = sorted(result["items"], key=lambda i: (i["error"] is None, i["token_f1"]))
    return ranked[:max(n, 0)]
