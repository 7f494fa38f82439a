"""Bedrock's own model lifecycle, followed: a foundation model AWS moves to Legacy is retired for the
tenants that hold it, with the notice AWS gives, without an admin having to notice.

Bedrock lists each foundation model's lifecycle (ListFoundationModels, `modelLifecycle`: status
ACTIVE | LEGACY, legacyTime, publicExtendedAccessTime, endOfLifeTime:
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_FoundationModelLifecycle.html). A model
in Legacy keeps answering until its end-of-life date ("Model lifecycle",
https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html; models launched from
September 2026 may have a Legacy period of only 45 days). So one poll (EventBridge Scheduler,
LifecycleWatchSchedule, daily) reads every model once and, for each LEGACY model held by tenants:

- a model already retiring for its holders (a retirement that blocks them, started by anyone) is
  left alone, as is one this watch started before (the registry item LIFECYCLE / MODEL#<id>: a
  second poll, a redelivered schedule, a retirement an admin has since cancelled);
- otherwise one ModelRetirementRequested goes to the hub bus for the holders not yet covered, dated
  at the end-of-life date (the notice AWS gives; without one, LEGACY_NOTICE after the legacy date;
  within the retirement's longest grace, MAX_GRACE), with the successor of data/model_successors.json
  (AWS publishes successors on the lifecycle page, not in the API). The retirement workflow then
  notifies the tenants and revokes at the date, as for any retirement.

The start is audited on the `hub#lifecycle` stream before the event is sent; the marker is written
first with a condition, so two polls at once start one retirement.
"""
import json
import functools
from datetime import datetime, timedelta, timezone
from pathlib import Path

from genai_hub import audit, aws, config, registry, retirement

WORKFLOW = "lifecycle-watch"
STREAM = "hub#lifecycle"
MARKER_PK = "LIFECYCLE"
LEGACY_NOTICE = timedelta(days=45)
REQUESTED_BY = "genai-hub lifecycle watch"
_SUCCESSORS = Path(__file__).resolve().parent / "data" / "model_successors.json"


@functools.lru_cache(maxsize=1)
def successors() -> dict[str, str]:
    """Successor of each foundation model that has one, from data/model_successors.json."""
    return json.loads(_SUCCESSORS.read_text())["successors"]


def _parse(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def models() -> list[dict]:
    """Every foundation model Bedrock lists in the hub's Region, its lifecycle's dates as RFC 3339 strings."""
    listed = aws.client("bedrock").list_foundation_models()["modelSummaries"]
    return [{**m, "modelLifecycle": {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in (m.get("modelLifecycle") or {}).items()}}
            for m in listed]


def holders(model_id: str) -> list[str]:
    """Tenants holding a grant of the foundation model (the ByModel index: one query)."""
    return sorted({g["tenant_id"] for g in registry.model_grants(model_id) if g.get("kind") == "grant" and not g.get("revoked_at")})


def retire_at(lifecycle: dict, now: datetime) -> datetime:
    """The end-of-life date (or the legacy date plus LEGACY_NOTICE), at least an hour from now and at
    most the retirement's longest grace."""
    end = _parse(lifecycle.get("endOfLifeTime"))
    if end is None:
        end = (_parse(lifecycle.get("legacyTime")) or now) + LEGACY_NOTICE
    return min(max(end, now + timedelta(hours=1)), now + retirement.MAX_GRACE - timedelta(days=1)).replace(microsecond=0)


def marker_key(model_id: str) -> dict:
    return {"pk": MARKER_PK, "sk": f"MODEL#{model_id}"}


def coming(now: datetime | None = None) -> list[dict]:
    """What is coming for the models tenants hold: each held model's lifecycle, holders and retirement."""
    now = now or datetime.now(timezone.utc)
    rows = []
    for model in models():
        model_id, lifecycle = model["modelId"], model.get("modelLifecycle") or {"status": "ACTIVE"}
        held = holders(model_id)
        if not held:
            continue
        started = registry.get_item(marker_key(model_id))
        retiring = [r for r in retirement.retirements(model_id) if r["status"] in retirement.BLOCKING]
        rows.append({"model_id": model_id, "status": lifecycle["status"], "holders": held,
                     "legacy_time": lifecycle.get("legacyTime"), "end_of_life_time": lifecycle.get("endOfLifeTime"),
                     "successor": successors().get(model_id), "watch_started": started,
                     "retirements": [{k: r.get(k) for k in ("scope", "status", "retire_at", "successor")} for r in retiring]})
    return rows


def _uncovered(model_id: str, held: list[str]) -> list[str]:
    covered: set[str] = set()
    for record in retirement.retirements(model_id):
        if record["status"] in retirement.BLOCKING:
            if record["scope"] == "all":
                return []
            covered |= set(record["scope"])
    return [t for t in held if t not in covered]


def poll(requested_by: str, execution: str, now: datetime | None = None) -> dict:
    """One look at every model's lifecycle; a retirement started for each LEGACY model held by tenants
    not yet retiring it. Returns what was started and what was left alone, and why."""
    now = now or datetime.now(timezone.utc)
    started, left_alone, listed = [], [], models()
    for model in listed:
        model_id, lifecycle = model["modelId"], model.get("modelLifecycle") or {}
        if lifecycle.get("status") != "LEGACY":
            continue
        held = holders(model_id)
        if not held:
            continue
        if registry.get_item(marker_key(model_id)):
            left_alone.append({"model_id": model_id, "why": "retirement started by an earlier poll"})
            continue
        tenants = _uncovered(model_id, held)
        if not tenants:
            left_alone.append({"model_id": model_id, "why": "already retiring for every tenant that holds it"})
            continue
        outcome = _start(model_id, lifecycle, tenants, requested_by, execution, now)
        (left_alone if "why" in outcome else started).append(outcome)
    return {"started": started, "left_alone": left_alone, "models_checked": len(listed)}


def _start(model_id: str, lifecycle: dict, tenants: list[str], requested_by: str, execution: str, now: datetime) -> dict:
    at, successor = retire_at(lifecycle, now), successors().get(model_id)
    model, version = model_id.rsplit(":", 1)
    detail = {"model": model, "version": version, "tenants": tenants if len(tenants) <= 1000 else "all", "at": _iso(at),
              "successor": successor, "requested_by": REQUESTED_BY,
              "reason": f"Amazon Bedrock lists {model_id} as LEGACY (since {lifecycle.get('legacyTime') or 'now'}); "
                        f"end of life {lifecycle.get('endOfLifeTime') or 'not announced'}"}
    # One start per model entering Legacy, even when two polls run at once.
    if not registry.put_new({**marker_key(model_id), "kind": "lifecycle-retirement", "model_id": model_id, "tenants": tenants,
                             "retire_at": detail["at"], "successor": successor, "legacy_time": lifecycle.get("legacyTime"),
                             "started_by": execution}):
        return {"model_id": model_id, "why": "another poll started it"}
    audit.append(STREAM, action="StartLifecycleRetirement", outcome="REQUESTED", workflow=WORKFLOW, execution=execution,
                 actor=requested_by, detail={"model_id": model_id, "tenants": tenants, "retire_at": detail["at"],
                                             "successor": successor, "lifecycle": lifecycle})
    answer = aws.client("events").put_events(Entries=[{"EventBusName": config.event_bus(), "Source": "genai.hub",
                                                        "DetailType": retirement.DETAIL_TYPE, "Detail": json.dumps(detail)}])
    if answer.get("FailedEntryCount"):
        registry.delete_items([marker_key(model_id)])  # the next poll tries again
        raise RuntimeError(f"EventBridge did not accept the retirement of {model_id}: {answer['Entries'][0].get('ErrorCode')}")
    return {"model_id": model_id, "tenants": tenants, "retire_at": detail["at"], "successor": successor,
            "event_id": answer["Entries"][0]["EventId"]}
