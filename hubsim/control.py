"""The local server's control door: the simulated clock of `hubctl local up`.

A budget story needs days to pass: usage is metered in closed windows that end `MeteringLagSeconds`
before the run's moment, so traffic sent now is metered five minutes from now at the earliest, and a
month of it would take a month. The local server therefore keeps a clock that runs behind real time
by a fixed offset: set it to a past moment, send traffic (the runtime stamps its metrics with it),
then advance it and run the budget as of it, as the demo does with `simulated_now`.

What the clock moves: only the timestamps of the metrics the emulated Bedrock runtime puts
(hubsim.patches.bedrock_runtime.set_clock), which is what the budget run reads. It never moves the
hub's own clock: handlers, Step Functions, STS expirations and SigV4 checks keep real time, so
nothing in a handler knows it runs locally. The clock cannot be ahead of real time: the hub meters
only up to now (a budget run refuses an `as_of` in the future), so traffic stamped in the future
could not be metered until real time caught up.

Door: `GET /_hubsim/clock` (the clock's state as JSON) and `POST /_hubsim/clock` with one of
`{"set": "2026-11-02T12:00:00Z"}`, `{"advance_seconds": 86400}` or `{"reset": true}`; a refusal is
HTTP 400 with `{"error": "..."}`. Like moto's own `/moto-api/`, it is unauthenticated and served only
by the local server (127.0.0.1 unless --host says otherwise); it does not exist on AWS.
"""
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from hubsim.patches import bedrock_runtime

PATH = "/_hubsim/clock"


class ClockRefused(ValueError):
    """A move the clock cannot make: ahead of real time, or not a moment at all."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_moment(text: str) -> datetime:
    """RFC 3339 with a zone, or a bare day (its midnight UTC)."""
    try:
        moment = datetime.fromisoformat(f"{text}T00:00:00+00:00" if len(text) == 10 else text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise ClockRefused(f"{text!r} is not a moment: expected RFC 3339 such as 2026-11-02T12:00:00Z, or a day 2026-11-02") from None
    if moment.tzinfo is None:
        raise ClockRefused(f"{text!r} has no time zone: add Z (UTC) or an offset")
    return moment


@dataclass
class SimulatedClock:
    """Real UTC time minus `behind`; `behind` zero is real time (and the runtime's own clock)."""

    behind: timedelta = timedelta(0)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) - self.behind

    def set(self, moment: datetime) -> dict:
        return self._move(datetime.now(timezone.utc) - moment, f"setting it to {_iso(moment)}")

    def advance(self, seconds: float) -> dict:
        if seconds <= 0:
            raise ClockRefused(f"advance by {seconds:g}s: the clock only moves forward; set it to an earlier moment instead")
        return self._move(self.behind - timedelta(seconds=seconds), f"advancing it by {timedelta(seconds=seconds)}")

    def reset(self) -> dict:
        return self._move(timedelta(0), "resetting it")

    def state(self) -> dict:
        behind = self.behind
        return {"now": _iso(datetime.now(timezone.utc) - behind), "simulated": behind > timedelta(0),
                "behind_seconds": int(behind.total_seconds())}

    def _move(self, behind: timedelta, what: str) -> dict:
        if behind < timedelta(0):
            raise ClockRefused(f"{what} would put the local clock {timedelta(seconds=int(-behind.total_seconds()))} ahead of real "
                               f"time ({_iso(datetime.now(timezone.utc))}): the hub meters usage only up to now, so the clock "
                               f"can run behind real time, never ahead (it is {_iso(self.now())})")
        with self._lock:
            self.behind = behind
            # Real time is the runtime's default: no clock function at all, not one that subtracts zero.
            bedrock_runtime.set_clock(self.now if behind > timedelta(0) else None)
        return self.state()


def _answer(start_response, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def door(app, clock: SimulatedClock):
    """`app` (moto's WSGI application) with the clock's door in front of it."""

    def serve(environ, start_response):
        if environ.get("PATH_INFO") != PATH:
            return app(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        if method == "GET":
            return _answer(start_response, "200 OK", clock.state())
        if method != "POST":
            return _answer(start_response, "405 Method Not Allowed", {"error": f"{method} {PATH}: use GET or POST"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            if not isinstance(body, dict) or len(body) != 1:
                raise ClockRefused('expected one of {"set": TIME}, {"advance_seconds": N}, {"reset": true}')
            if "set" in body:
                state = clock.set(parse_moment(body["set"]))
            elif "advance_seconds" in body and isinstance(body["advance_seconds"], (int, float)):
                state = clock.advance(body["advance_seconds"])
            elif body.get("reset") is True:
                state = clock.reset()
            else:
                raise ClockRefused('expected one of {"set": TIME}, {"advance_seconds": N}, {"reset": true}')
        except (ClockRefused, ValueError) as exc:
            return _answer(start_response, "400 Bad Request", {"error": str(exc)})
        return _answer(start_response, "200 OK", state)

    return serve
