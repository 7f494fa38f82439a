"""Static benchmarks: Lambda cold-start import time, package sizes, and wall time of a command.

A cold start is what a tenant's first call after idle pays: Lambda starts a new runtime, imports
the handler module, then calls it. Of that, the runtime start is AWS's, but the import of the
handler module (the function's app.py, the genai_hub layer and what they pull in: boto3,
Powertools, jsonschema...) is the part this code controls. So each function's handler is imported
in a fresh interpreter under `python -X importtime`, with the function folder and the layer on
sys.path as on Lambda, and the report names the heaviest imports to look at first. The zipped size
of each function and of the layer (as the local deploy zips them) goes with it, since Lambda also
has to fetch and unpack those on a cold start.

`timed_command` times a whole command (`hubctl demo`, the test suite) for the same report.
"""
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from hubsim.deploy import _zip_folder, load_template

# Fixed values instead of this process's environment: the measure must not depend on who runs it,
# and fake credentials make sure nothing at import time can reach a real account. The functions'
# POWERTOOLS_* settings come from template.yaml's Globals, and the variables Lambda itself sets are
# set too (function_env): libraries choose their path by them. The X-Ray SDK is the one that
# matters: outside Lambda it builds two botocore X-Ray clients for centralized sampling (~140 ms)
# that a function never builds, and Powertools Tracer is enabled only on Lambda (Tracing: Active).
_LAMBDA_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

# `import time: <self us> | <cumulative us> | <2 spaces per nesting level><module>`; a module's line
# comes after the lines of the modules it imported.
_IMPORT_LINE = re.compile(r"^import time:\s*(\d+) \|\s*(\d+) \| ( *)(\S+)$")
_HEAVIEST = 3
_WORKERS = 2  # one import per core: more would make them slow each other down


def function_env(globals_: dict, name: str, code_dir: Path, handler: str, runtime: str | None = None) -> dict[str, str]:
    """The environment a function's handler is imported in: its POWERTOOLS_* settings from the
    template's function Globals, the fixed values above, and what Lambda itself sets in every
    function's environment (the ones libraries look at on import)."""
    variables = globals_.get("Environment", {}).get("Variables", {})
    env = {k: v for k, v in variables.items() if k.startswith("POWERTOOLS_") and isinstance(v, str)}
    if globals_.get("Tracing") != "Active":
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return {**env, **_LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(code_dir), "AWS_LAMBDA_FUNCTION_NAME": name, "_HANDLER": handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime or globals_.get('Runtime', 'python3.12')}"}


class ColdStartError(RuntimeError):
    """A handler module could not be imported (or its import time not read); names the function."""


def _import_tree(stderr: str, module: str) -> tuple[int, list[tuple[str, int]]]:
    """(cumulative us of `module` imported at top level, [(module, cumulative us)] of its direct imports)."""
    children: list[tuple[str, int]] = []
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        cumulative, level, name = int(match[2]), len(match[3]) // 2, match[4]
        if level == 1:
            children.append((name, cumulative))
        elif level == 0:
            if name == module:
                return cumulative, children
            children = []  # those were imports of the interpreter's startup (site, encodings)
    raise ValueError(f"no top-level import time line for {module!r}")


def _stderr_tail(stderr: str, lines: int = 10) -> str:
    # The traceback is what explains a failure, not the hundreds of import time lines around it.
    return "\n".join([line for line in stderr.splitlines() if not line.startswith("import time:")][-lines:])


def _measure(name: str, code_dir: Path, layer_dir: Path, module: str, repeats: int, lambda_env: dict) -> dict:
    """Import `module` in fresh interpreters, once to warm the .pyc cache, then `repeats` times timed."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join([str(code_dir), str(layer_dir)]),
           **lambda_env}
    argv = [sys.executable, "-X", "importtime", "-c", f"import {module}"]
    runs = []
    for _ in range(repeats + 1):
        done = subprocess.run(argv, cwd=code_dir, env=env, capture_output=True, text=True, errors="replace")
        if done.returncode != 0:
            raise ColdStartError(f"{name}: `import {module}` failed (exit {done.returncode}):\n"
                                 f"{_stderr_tail(done.stderr)}")
        try:
            runs.append(_import_tree(done.stderr, module))
        except ValueError as exc:
            raise ColdStartError(f"{name}: {exc}:\n{_stderr_tail(done.stderr)}") from exc
    timed = sorted(runs[1:], key=lambda run: run[0])  # runs[0] was the warm-up, slowed by compiling
    _, children = timed[(len(timed) - 1) // 2]  # the median run: its heaviest imports go with the median
    heaviest = sorted(children, key=lambda child: -child[1])[:_HEAVIEST]
    return {
        "import_ms": round(statistics.median(run[0] for run in timed) / 1000, 1),
        "heaviest": [{"module": child, "ms": round(us / 1000, 1)} for child, us in heaviest],
    }


def cold_starts(root: Path, *, repeats: int = 3,
                progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Cold-start import time and package sizes of every function of root/template.yaml, in template order.

    Each result: {"function", "code_uri", "import_ms", "heaviest": [{"module", "ms"}], "package_bytes",
    "layer_bytes"}. `progress(done, total)` is called after each function. Raises ColdStartError when a
    handler module does not import.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    root = root.resolve()  # PYTHONPATH must not depend on the cwd the imports run in
    layer_dir = root / "layer"
    layer_bytes = len(_zip_folder(layer_dir)[0])
    template = load_template(root / "template.yaml")
    functions = {
        name: resource["Properties"]
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }
    globals_ = template.get("Globals", {}).get("Function", {})
    measured = {}
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        futures = {
            pool.submit(_measure, name, root / props["CodeUri"], layer_dir, props["Handler"].rsplit(".", 1)[0], repeats,
                        function_env(globals_, name, root / props["CodeUri"], props["Handler"], props.get("Runtime"))): name
            for name, props in functions.items()
        }
        for done, future in enumerate(as_completed(futures), start=1):
            try:
                measured[futures[future]] = future.result()
            except ColdStartError:
                pool.shutdown(cancel_futures=True)  # fail now, not after importing all the others
                raise
            if progress:
                progress(done, len(futures))
    return [
        {"function": name, "code_uri": props["CodeUri"], **measured[name],
         "package_bytes": len(_zip_folder(root / props["CodeUri"])[0]), "layer_bytes": layer_bytes}
        for name, props in functions.items()
    ]


def timed_command(argv: list[str], cwd: Path, env: dict | None = None, timeout: float = 1800,
                  log: Path | None = None) -> dict:
    """Run `argv` in `cwd` (with `env` added to this process's environment) and time it.

    Returns {"command", "seconds", "exit_code", "tail": the last 5 lines of stdout and stderr together}.
    With `log`, the whole output is written there (a failed run can then be read in full).
    Raises subprocess.TimeoutExpired after `timeout` seconds.
    """
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace", timeout=timeout)
    seconds = time.perf_counter() - started
    if log is not None:
        log.write_text(done.stdout)
    return {
        "command": " ".join(argv),
        "seconds": round(seconds, 1),
        "exit_code": done.returncode,
        "tail": "\n".join(done.stdout.rstrip().splitlines()[-5:]),
    }
