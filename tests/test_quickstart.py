"""The README's quickstart, followed literally: its first block (`make local`) serves the hub, its
second block drives it with hubctl as a newcomer would paste it, its third with the AWS CLI.

The only change to what a person types is the port (tests run side by side): `make local` gets it
through LOCAL_ARGS in its environment (make reads variables from there), and the blocks' 4566
becomes that port.
"""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_local_server import READY_TIMEOUT, STOP_TIMEOUT, _client_env, _free_port, _Output

ROOT = Path(__file__).resolve().parent.parent
BLOCK_TIMEOUT = 300


def quickstart_blocks() -> list[str]:
    """The ```sh blocks of the README's "Quickstart" section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Quickstart.*?$(.*?)^## ", readme, re.S | re.M)
    assert section, "the README has no '## Quickstart' section"
    return re.findall(r"^```sh\n(.*?)^```", section.group(1), re.S | re.M)


def _bash(script: str, port: int, **env) -> subprocess.CompletedProcess:
    """A block as pasted into a shell at the repository's root (stops at the first failing line)."""
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script.replace("4566", str(port))], cwd=ROOT,
                          env={**_client_env(), **env}, capture_output=True, text=True, timeout=BLOCK_TIMEOUT)


@pytest.fixture(scope="module")
def local_hub():
    """The first block, run as written: `make local` (with the test's port in LOCAL_ARGS)."""
    blocks = quickstart_blocks()
    assert len(blocks) >= 3, f"expected the quickstart's three sh blocks, found {len(blocks)}"
    first = [line.split("#")[0].strip() for line in blocks[0].splitlines() if line.split("#")[0].strip()]
    assert first == ["make local"], f"the quickstart's first block changed: {first}"
    port = _free_port()
    process = subprocess.Popen(["bash", "-c", first[0]], cwd=ROOT, env={**_client_env(), "LOCAL_ARGS": f"--port {port}"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
    output = _Output(process.stdout)
    try:
        deadline = time.monotonic() + READY_TIMEOUT + 120  # make may have to create .venv first
        while not output.ready.wait(0.2):
            if process.poll() is not None:
                pytest.fail(f"make local exited with {process.returncode} before it was ready:\n{output.text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"make local not ready:\n{output.text()}")
        yield port, blocks
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # make and the hubctl it started
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_the_readme_quickstart_drives_the_local_hub_with_hubctl(local_hub):
    # Given the local hub served by `make local`
    port, blocks = local_hub
    # When the second block is pasted as it is
    done = _bash(blocks[1], port)
    # Then every line succeeds and says what the README promises
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "sent TenantOnboardingRequested for acme-retail" in said and "SUCCEEDED" in said     # onboard --wait
    assert "application-inference-profile/" in said                                            # tenants show: its profiles
    assert "budget run started" in said                                                        # budget run --wait
    assert re.search(r"acme-retail\s.*GREEN", said), said                                      # usage: its level
    assert "audit trail intact" in said, said                                                  # audit verify


def test_the_readme_quickstart_serves_the_aws_cli(local_hub):
    port, blocks = local_hub
    if shutil.which("aws") is None:
        pytest.skip("no aws CLI on PATH: the README's third block needs it")
    # When the third block is pasted after the second's `export HUB=...`
    hub = next(line for line in blocks[1].splitlines() if line.startswith("export HUB="))
    done = _bash(f"{hub}\n{blocks[2]}", port)
    # Then the AWS CLI reads the hub stack's outputs
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OnboardingStateMachineArn" in done.stdout and "TenantCredentialsUrl" in done.stdout
