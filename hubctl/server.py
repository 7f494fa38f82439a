"""`hubctl local up`: the embedded emulation as an AWS endpoint on 127.0.0.1.

The same moto backends serve two doors: in this process (the in-process Lambdas and the state
machine interpreter call them directly) and over HTTP (moto's ThreadedMotoServer), so the AWS
CLI, boto3 in another process and hubctl all work with --endpoint-url.
"""
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from hubctl import views
from hubctl.demo import ROOT, load_samples


def _server(host: str, port: int, clock):
    """moto's threaded server with the local clock's door (hubsim.control) in front of its application."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from hubsim import control

    class Server(ThreadedMotoServer):
        def _server_entry(self) -> None:  # moto's, with the door
            app = control.door(DomainDispatcherApplication(create_backend_app), clock)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server(ip_address=host, port=port, verbose=False)


def serve(host: str = "127.0.0.1", port: int = 4566, stack_name: str = "genai-hub", samples: bool = True,
          clock_at: str | None = None) -> int:
    from hubsim import control
    from hubsim.engine import LocalHub

    warnings.filterwarnings("ignore")
    console = views.console
    # The Step Functions interpreter calls back to the server on MOTO_PORT when it is not stubbing.
    os.environ["MOTO_PORT"] = str(port)
    with console.status(f"Deploying stack {stack_name} on the embedded emulation..."):
        local = LocalHub(stack_name=stack_name).start()
        if samples:
            for _, sample in load_samples(Path(ROOT) / "events" / "onboarding"):
                spoke = sample["detail"].get("spoke")
                if isinstance(spoke, dict) and spoke.get("account_id") not in local.spokes:
                    local.deploy_tenant_spoke(spoke["account_id"])
            local.deploy_research_spoke()
    clock = control.SimulatedClock()
    if clock_at:
        clock.set(control.parse_moment(clock_at))  # checked by the command line before anything was deployed
    server = _server(host, port, clock)
    try:
        server.start()
    except OSError as exc:
        print(f"hubctl local up: error: cannot listen on {host}:{port}: {exc.strerror or exc}: another `hubctl local up`? "
              "try --port", file=sys.stderr)
        local.stop()
        return 1
    endpoint = f"http://{host}:{port}"
    if samples:
        console.print(f"Spoke accounts deployed for the sample events: {', '.join(sorted(local.spokes))}; "
                      f"research account {local.research.get('ArtifactBucketName', '')} bucket ready for model drops")
    console.print(f"Try: hubctl --endpoint-url {endpoint} onboard events/onboarding/acme-retail-us.json --wait")
    console.print(f"     aws --endpoint-url {endpoint} stepfunctions list-state-machines")
    if clock_at:
        console.print(f"Local clock (the time Bedrock's usage metrics are stamped with): {clock.state()['now']}, running; "
                      f"move it with hubctl --endpoint-url {endpoint} local clock advance P1D")
    # The ready line: scripts wait for it.
    print(f"hubctl local: ready at {endpoint} (stack {stack_name}, account {local.outputs['HubAccountId']}, region {local.region})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping...")
        server.stop()
        clock.reset()
        local.stop()
    return 0
