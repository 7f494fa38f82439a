"""Retirement at scale: thousands of tenants hold a model; one retirement revokes every grant, and
the execution's history stays far inside Step Functions' limit of 25,000 events.

The test command runs 1,000 tenants (four batches) (the suite must stay well under ten minutes on two cores);
GENAI_HUB_SCALE_TENANTS=5000 runs 5,000 (about 95 s on its own on this kind of machine)."""
import json
import os
import time

from conftest import application_profiles

from hubsim.seed import seed_tenants

TENANTS = int(os.environ.get("GENAI_HUB_SCALE_TENANTS", "1000"))
HISTORY_LIMIT = 25_000


def _history(sfn, execution_arn: str) -> list[dict]:
    events, kwargs = [], {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def test_retiring_a_model_held_by_thousands_of_tenants_revokes_every_grant(hub, record_property):
    # Given thousands of ACTIVE tenants (500 per spoke account), each with a profile and a grant
    started = time.perf_counter()
    tenants = seed_tenants(hub, TENANTS)
    assert len(tenants) == TENANTS
    seeded = time.perf_counter() - started
    ddb, table = hub.client("dynamodb"), hub.outputs["RegistryTableName"]

    def grants_left() -> int:
        return sum(page["Count"] for page in ddb.get_paginator("query").paginate(
            TableName=table, IndexName="ByModel", KeyConditionExpression="gsi1pk = :m", Select="COUNT",
            ExpressionAttributeValues={":m": {"S": "MODEL#amazon.nova-pro-v1:0"}}))

    assert grants_left() == TENANTS

    # When the model is retired for all of them
    sfn = hub.client("stepfunctions")
    started = time.perf_counter()
    arn = sfn.start_execution(stateMachineArn=hub.outputs["RetirementStateMachineArn"], input=json.dumps({
        "model": "amazon.nova-pro-v1", "version": "0", "tenants": "all", "grace": "PT1S",
        "successor": "amazon.nova-premier-v1:0", "reason": "end of life", "requested_by": "platform-admin@example.com"}))["executionArn"]
    hub.wait_for_executions(timeout=900)
    took = time.perf_counter() - started

    # Then it succeeded, every grant and profile is gone (each profile was tagged revoked before it was deleted)
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED", described
    retired = json.loads(described["output"])["retired"]
    assert (retired["tenants_revoked"], retired["profiles_deleted"], retired["tenants_remaining"]) == (TENANTS, TENANTS, 0)
    assert grants_left() == 0
    assert not [p for p in application_profiles(hub, "us-east-1") if p["inferenceProfileName"].startswith("scale-")]
    # and the history is small: the Map carries batch numbers, not tenants
    history = _history(sfn, arn)
    transitions = sum(1 for e in history if e["type"].endswith("StateEntered"))
    assert len(history) < HISTORY_LIMIT / 50, f"{len(history)} history events"
    record_property("figures", f"{TENANTS} tenants seeded in {seeded:.1f}s, retired in {took:.1f}s (grace 1 s), "
                               f"{transitions} state transitions, {len(history)} history events (limit {HISTORY_LIMIT})")
