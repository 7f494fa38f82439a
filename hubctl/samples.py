"""`hubctl events sample`: a sample of events/ as the AWS CLI takes it.

The files in events/ are the tests' and the demo's cases ({source, detail-type, detail, expect}).
PutEvents wants entries ({Source, DetailType, Detail as a JSON string, EventBusName}):
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html
so `hubctl events sample onboarding/acme-retail-us > entries.json` then
`aws events put-events --entries file://entries.json` sends exactly what `hubctl onboard` sends.
Events of a source starting with "aws." come from AWS services only (PutEvents refuses them), so
those samples are refused with what to do instead.
"""
import json
from pathlib import Path

from hubctl.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def names() -> list[str]:
    """The samples that are events (events/import also holds an import.json manifest)."""
    def is_event(path: Path) -> bool:
        try:
            return "detail-type" in json.loads(path.read_text())
        except ValueError:
            return False

    return sorted(str(p.relative_to(EVENTS).with_suffix("")) for p in EVENTS.glob("*/*.json") if is_event(p))


def entries(name: str, bus: str) -> list[dict]:
    """The PutEvents entries of sample `name` (workflow/case, or a path to a sample file)."""
    path = Path(name) if name.endswith(".json") else EVENTS / f"{name}.json"
    if not path.is_file():
        raise UsageError(f"no sample {name!r}: the samples are {', '.join(names())}")
    try:
        sample = json.loads(path.read_text())
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    if not isinstance(sample, dict) or not {"source", "detail-type", "detail"} <= set(sample):
        raise UsageError(f"{path}: a sample has source, detail-type and detail")
    if str(sample["source"]).startswith("aws."):
        raise UsageError(f"{name}: {sample['source']} events are sent by AWS itself (PutEvents refuses sources starting "
                         "with 'aws.'): for a model drop, upload the files to the research bucket (docs/research-team.md), "
                         "or send a ModelImportRequested: hubctl events sample import/model-import-requested")
    return [{"Source": sample["source"], "DetailType": sample["detail-type"], "Detail": json.dumps(sample["detail"]),
             "EventBusName": bus}]
