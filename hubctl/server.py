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


def serve(host: str = "127.0.0.1", port: int = 4566, stack_name: str = "genai-hub", samples: bool = True) -> int:
    from moto.server import ThreadedMotoServer

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
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
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
        local.stop()
    return 0
