"""The local engine holds a hundred concurrent onboarding executions: none lost, none failed by the engine.

100 in the test command (the server load test in test_local_server.py runs 1,000 more executions);
GENAI_HUB_LOAD_ONBOARDINGS=200 runs the earlier figure."""
import json
import os
import time

from genai_hub import audit
from hubctl import views
from hubctl.stack import Hub
from hubsim.workloads import onboarding_details

CONCURRENT = int(os.environ.get("GENAI_HUB_LOAD_ONBOARDINGS", "100"))


def test_concurrent_onboardings_all_complete(hub, record_property):
    # Given CONCURRENT tenants spread over four spoke accounts (one per 25 tenants, at most four)
    details = onboarding_details(hub, CONCURRENT, "load")

    # When all the onboarding events arrive at once (PutEvents batches of 10)
    started = time.perf_counter()
    events = hub.client("events")
    for i in range(0, CONCURRENT, 10):
        response = events.put_events(Entries=[{
            "EventBusName": hub.outputs["EventBusName"], "Source": "genai.hub",
            "DetailType": "TenantOnboardingRequested", "Detail": json.dumps(d),
        } for d in details[i:i + 10]])
        assert response["FailedEntryCount"] == 0
    executions = hub.wait_for_executions(timeout=600)
    elapsed = time.perf_counter() - started

    # Then every execution exists and succeeded
    assert len(executions) == CONCURRENT
    statuses = {e["status"] for e in executions}
    assert statuses == {"SUCCEEDED"}, [hub.client("stepfunctions").describe_execution(executionArn=e["executionArn"]).get("cause")
                                       for e in executions if e["status"] != "SUCCEEDED"][:3]
    # and the registry and the audit trail hold every tenant, intact
    view = Hub(session=__import__("boto3").session.Session(region_name=hub.region), endpoint_url=None, outputs=hub.outputs)
    tenants = views.tenant_records(view)
    assert sorted(t["tenant_id"] for t in tenants) == [d["tenant_id"] for d in details]
    assert {t["status"] for t in tenants} == {"ACTIVE"}
    streams = audit.read_all(hub.outputs["AuditTableName"])
    assert len(streams) == CONCURRENT
    assert all(audit.verify_chain(s, r) is None and len(r) == 6 for s, r in streams.items())
    record_property("figures", f"{CONCURRENT} concurrent onboardings: {elapsed:.1f}s, {CONCURRENT / elapsed:.1f} executions/s")
