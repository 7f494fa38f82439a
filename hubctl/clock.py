"""`hubctl local clock`: read and move the simulated clock of a `hubctl local up` server.

The clock stamps the usage metrics of the emulated Bedrock runtime, nothing else (hubsim/control.py
says why and what it leaves alone). It runs behind real time, never ahead: set it to a past moment,
send traffic, advance it a day, run the budget (`hubctl budget run` on a local hub meters up to the
local clock when it is simulated), and so on, which is how the demo's budget story is replayed.
"""
import json
import urllib.error
import urllib.request

from hubctl.errors import HubctlError, HubUnreachable, UsageError
from hubctl.follow import usage_error

EXAMPLES = """examples:
  hubctl --endpoint-url http://127.0.0.1:4566 local clock                          the local time and how far behind real time
  hubctl --endpoint-url http://127.0.0.1:4566 local clock set 2026-11-02T12:00:00Z  traffic from now on is stamped from then
  hubctl --endpoint-url http://127.0.0.1:4566 local clock advance P1D              a day later (ISO 8601: P1D, PT6H, PT90S)
  hubctl --endpoint-url http://127.0.0.1:4566 local clock reset                    back to real time
The clock only stamps the emulated Bedrock usage metrics (what a budget run meters); it cannot be set
ahead of real time, because the hub meters usage only up to now."""
PATH = "/_hubsim/clock"  # hubsim.control.PATH; hubctl does not import the emulation to talk to a server
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"


def add_parser(local_sub) -> None:
    clock = local_sub.add_parser("clock", help="show or move the simulated clock of a local hub (usage metrics' time)",
                                 description=__doc__.split("\n\n")[1], epilog=EXAMPLES)
    moves = clock.add_subparsers(dest="move", metavar="MOVE")
    hub = "hubctl --endpoint-url http://127.0.0.1:4566 local clock"

    def move(name: str, help_: str, *examples: str):
        return moves.add_parser(name, help=help_, epilog="examples:\n" + "\n".join(f"  {hub} {e}" for e in examples))

    move("show", "the local time and how far behind real time (the default)", "show", "")
    move("set", "set the clock to a past moment; it runs on from there", "set 2026-11-02T12:00:00Z", "set 2026-11-02").add_argument(
        "time", metavar="TIME", help="RFC 3339 (2026-11-02T12:00:00Z) or a day (2026-11-02, its midnight UTC)")
    move("advance", "move the clock forward (never past real time)", "advance P1D", "advance PT6H").add_argument(
        "duration", metavar="DURATION", help="ISO 8601 days, hours, minutes, seconds: P1D, PT6H, P1DT12H, PT90S")
    move("reset", "back to real time", "reset")


def _ask(endpoint: str, body: dict | None) -> dict:
    """The door's answer: GET without a body, POST with one. Its refusal (HTTP 400) is a usage error."""
    request = urllib.request.Request(endpoint.rstrip("/") + PATH, method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            raise UsageError(json.loads(exc.read()).get("error", "refused")) from None
        raise HubctlError(f"{endpoint} has no local clock (HTTP {exc.code} on {PATH}): it is not a `hubctl local up` "
                          "server; a hub on AWS runs on AWS's time") from None
    except (urllib.error.URLError, OSError) as exc:
        raise HubUnreachable(f"cannot reach {endpoint} ({getattr(exc, 'reason', exc)}): is `hubctl local up` running, "
                             "is --endpoint-url right?") from None


def _seconds(duration: str) -> float:
    from genai_hub.errors import InvalidInput
    from genai_hub.retirement import parse_duration

    try:
        seconds = parse_duration(duration).total_seconds()
    except InvalidInput:
        seconds = 0
    if seconds <= 0:
        raise usage_error(f"DURATION {duration!r}: expected an ISO 8601 duration above zero in days, hours, minutes and seconds "
                          "such as P1D, PT6H or PT90S (no months or years)", "local clock advance")
    return seconds


def run(args) -> int:
    endpoint = args.endpoint_url or DEFAULT_ENDPOINT
    move = args.move or "show"
    body = {"show": None, "reset": {"reset": True}}.get(move)
    if move == "set":
        body = {"set": args.time}
    elif move == "advance":
        body = {"advance_seconds": _seconds(args.duration)}
    state = _ask(endpoint, body)
    if state["simulated"]:
        behind = state["behind_seconds"]
        print(f"local clock {state['now']} ({behind // 86400}d {behind % 86400 // 3600}h {behind % 3600 // 60}m behind real time)")
    else:
        print(f"local clock {state['now']} (real time)")
    return 0


def simulated_now(endpoint: str | None) -> str | None:
    """The local clock's time when `endpoint` is a local hub whose clock is simulated; None otherwise
    (AWS, a server without the door, real time, or no answer: the caller then uses real time)."""
    if not endpoint:
        return None
    try:
        state = _ask(endpoint, None)
    except HubctlError:
        return None
    return state["now"] if state.get("simulated") else None
