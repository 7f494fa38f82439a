"""`hubctl events undelivered|redrive`: what the workflows could not deliver, and delivering it now.

The state machines keep an event or notification whose delivery failed after its retries in the
undelivered queue (see genai_hub.delivery). Redriving puts each back where it was going (the hub
bus, or the budget alerts topic) and deletes it from the queue only once delivered, so a redrive
that fails half-way loses nothing and can be run again.
"""
import json

from hubctl.views import console


def _kept(hub, *, remove: bool):
    """Yield (message, kept entry) from the undelivered queue; with `remove`, the caller deletes each."""
    sqs, url = hub.client("sqs"), hub.output("UndeliveredQueueUrl")
    seen = set()
    while True:
        # Hidden while we look at them (30 s) so a second reader does not deliver them too.
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30 if remove else 0,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message, json.loads(message["Body"])


def _describe(kept: dict) -> str:
    entry = kept["entry"]
    if kept["kind"] == "event":
        return f"event {entry.get('DetailType')} to {entry.get('EventBusName')}"
    return f"notification {entry.get('Subject')!r}"


def undelivered(hub) -> list[dict]:
    """What is kept, as data (hubctl events undelivered --output json): one entry per message."""
    return [{"message_id": m["MessageId"], "workflow": m.get("MessageAttributes", {}).get("workflow", {}).get("StringValue"),
             **kept} for m, kept in _kept(hub, remove=False)]


def list_undelivered(hub) -> int:
    found = [(m, k) for m, k in _kept(hub, remove=False)]
    if not found:
        console.print("nothing undelivered")
        return 0
    for message, kept in found:
        workflow = message.get("MessageAttributes", {}).get("workflow", {}).get("StringValue", "?")
        console.print(f"{message['MessageId']}  {workflow:<18} {kept['state']:<40} {_describe(kept)}")
    console.print(f"{len(found)} undelivered: hubctl events redrive delivers them")
    return 0


def _deliver(hub, kept: dict) -> None:
    entry = dict(kept["entry"])
    if kept["kind"] == "event":
        if not isinstance(entry.get("Detail"), str):
            entry["Detail"] = json.dumps(entry.get("Detail", {}))
        result = hub.client("events").put_events(Entries=[entry])
        if result.get("FailedEntryCount"):
            raise RuntimeError(result["Entries"][0].get("ErrorMessage", "the bus refused the event"))
    else:
        hub.client("sns").publish(**entry)


def redrive(hub) -> int:
    sqs, url = hub.client("sqs"), hub.output("UndeliveredQueueUrl")
    delivered, failed = 0, 0
    for message, kept in _kept(hub, remove=True):
        try:
            _deliver(hub, kept)
        except Exception as exc:  # botocore errors: keep the message, report, go on with the rest
            failed += 1
            console.print(f"[red]{message['MessageId']}: {_describe(kept)} still not delivered: {exc}[/red]")
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        delivered += 1
        console.print(f"delivered {_describe(kept)} (kept by {kept['state']!r})")
    console.print(f"{delivered} delivered, {failed} left in the queue")
    return 1 if failed else 0
