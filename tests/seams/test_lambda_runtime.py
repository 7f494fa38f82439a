"""Seam tests of hubsim/patches/lambda_runtime.py: deployed handlers run in process (errors, logs,
a per-invocation environment).

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json
import os
import threading

import boto3

from .conftest import _create_function, _lambda_role


def _invoke(name: str, event: dict) -> tuple[dict, dict]:
    # A client per call: invocations below run on several threads.
    response = boto3.client("lambda", region_name="us-east-1").invoke(FunctionName=name, Payload=json.dumps(event))
    return response, json.loads(response["Payload"].read())


def _log_messages(engine, function_name: str) -> list[str]:
    logs = engine.client("logs")
    return [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}")["events"]]


def test_lambda_runs_deployed_handler_in_process(engine, rendezvous):
    role = _lambda_role(engine)
    _create_function(engine, "seam-adder", "app.handler", "acme", role)

    # The deployed handler runs: its result is computed from the event and its environment
    response, payload = _invoke("seam-adder", {"a": 2, "b": 40})
    assert "FunctionError" not in response
    assert payload == {"sum": 42, "tenant": "acme", "function": "seam-adder"}

    # A handler's exception is the function error, named after the exception class
    response, payload = _invoke("seam-adder", {"missing": "model.tar.gz"})
    assert response.get("FunctionError")
    assert payload["errorType"] == "ArtifactMissing"
    assert payload["errorMessage"] == "artifact model.tar.gz is not in the bucket"
    assert isinstance(payload["stackTrace"], list) and payload["stackTrace"]

    # What the handler printed, and the error, are in the function's CloudWatch Logs
    messages = _log_messages(engine, "seam-adder")
    assert "seam-adder: 2 + 40 for acme" in messages
    assert any("ArtifactMissing: artifact model.tar.gz" in m for m in messages)

    # Two functions invoked at once each see their own environment (the per-thread overlay):
    # both are inside their invocation together (the barrier) when they read TENANT again.
    _create_function(engine, "seam-tenant-a", "app.rendezvous", "tenant-a", role)
    _create_function(engine, "seam-tenant-b", "app.rendezvous", "tenant-b", role)
    results, errors = {}, []

    def call(name):
        try:
            results[name] = _invoke(name, {})
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(name,)) for name in ("seam-tenant-a", "seam-tenant-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and not any(t.is_alive() for t in threads)
    for name, tenant in (("seam-tenant-a", "tenant-a"), ("seam-tenant-b", "tenant-b")):
        response, payload = results[name]
        assert "FunctionError" not in response, payload
        assert payload == {"before": tenant, "after": tenant, "region": "us-east-1"}
    # and the test's own thread still sees the process environment, not an invocation's
    assert "TENANT" not in os.environ


def test_lambda_output_reaches_cloudwatch_logs_without_a_declared_log_group(engine, rendezvous):
    _create_function(engine, "seam-undeclared-logs", "app.handler", "acme", _lambda_role(engine))
    _invoke("seam-undeclared-logs", {"a": 1, "b": 1})
    groups = [g["logGroupName"] for g in engine.client("logs").describe_log_groups()["logGroups"]]
    assert "/aws/lambda/seam-undeclared-logs" in groups
    assert "seam-undeclared-logs: 1 + 1 for acme" in _log_messages(engine, "seam-undeclared-logs")
