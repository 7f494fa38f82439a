"""The simulated clock of `hubctl local up` (hubsim/control.py): it runs behind real time, never
ahead, moves only the emulated Bedrock runtime's metric stamps, and answers at its door as JSON."""
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from hubsim import control
from hubsim.patches import bedrock_runtime


@pytest.fixture
def clock():
    clock = control.SimulatedClock()
    yield clock
    clock.reset()


def _knock(clock, method: str, body: dict | None = None) -> tuple[str, dict]:
    """One request at the door; moto behind it answers 'moto' to anything else."""
    answered = {}

    def start_response(status, headers):
        answered["status"] = status

    data = json.dumps(body).encode() if body is not None else b""
    environ = {"PATH_INFO": control.PATH, "REQUEST_METHOD": method, "CONTENT_LENGTH": str(len(data)),
               "wsgi.input": io.BytesIO(data)}
    app = control.door(lambda environ, start_response: [b"moto"], clock)
    body = json.loads(b"".join(app(environ, start_response)))
    return answered["status"], body


def test_set_then_advance_moves_the_runtime_metric_stamps_and_reset_gives_real_time_back(clock):
    day = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=5)
    status, state = _knock(clock, "POST", {"set": day.isoformat()})
    assert status == "200 OK" and state["simulated"] and state["behind_seconds"] >= 5 * 86400 - 2
    assert abs(bedrock_runtime._metric_time() - day.replace(tzinfo=None)) < timedelta(seconds=5)

    status, state = _knock(clock, "POST", {"advance_seconds": 86400})
    assert status == "200 OK"
    assert abs(bedrock_runtime._metric_time() - (day + timedelta(days=1)).replace(tzinfo=None)) < timedelta(seconds=5)

    status, state = _knock(clock, "POST", {"reset": True})
    assert status == "200 OK" and state == {**state, "simulated": False, "behind_seconds": 0}
    assert bedrock_runtime._clock is None  # the runtime's own real-time clock, not an offset of zero


@pytest.mark.parametrize("body, says", [
    ({"set": "2099-01-01T00:00:00Z"}, "ahead of real time"),
    ({"advance_seconds": 10 * 86400}, "ahead of real time"),
    ({"advance_seconds": -60}, "only moves forward"),
    ({"set": "yesterday"}, "not a moment"),
    ({"set": "2026-11-02T12:00:00"}, "no time zone"),
    ({"set": "2026-11-02T12:00:00Z", "reset": True}, "expected one of"),
    ({"advance_seconds": "P1D"}, "expected one of"),
])
def test_the_door_refuses_a_move_it_cannot_make_and_the_clock_stays(clock, body, says):
    clock.set(datetime.now(timezone.utc) - timedelta(days=2))
    before = clock.behind
    status, answer = _knock(clock, "POST", body)
    assert status == "400 Bad Request" and says in answer["error"]
    assert clock.behind == before


def test_other_paths_reach_moto_and_get_reads_the_clock(clock):
    app = control.door(lambda environ, start_response: [b"moto"], clock)
    assert app({"PATH_INFO": "/", "REQUEST_METHOD": "POST"}, lambda *a: None) == [b"moto"]
    status, state = _knock(clock, "GET")
    assert status == "200 OK" and state["simulated"] is False
    assert _knock(clock, "DELETE")[0] == "405 Method Not Allowed"
