"""`hubctl events sample`: the samples of events/ as PutEvents entries, for the AWS CLI."""
import json

from conftest import registry_items, sample

from hubctl.cli import main


def test_a_sample_printed_for_the_aws_cli_onboards_the_tenant(hub, capsys):
    # Given the entries printed for the AWS CLI (put-events --entries file://...)
    assert main(["events", "sample", "onboarding/acme-retail-us"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert entries[0]["EventBusName"] == hub.outputs["EventBusName"]
    assert json.loads(entries[0]["Detail"]) == sample("onboarding/acme-retail-us.json")["detail"]
    # When they are put as they are, Then the tenant is onboarded as by hubctl onboard
    hub.deploy_tenant_spoke(json.loads(entries[0]["Detail"])["spoke"]["account_id"])
    result = hub.client("events").put_events(Entries=entries)
    assert result["FailedEntryCount"] == 0
    hub.wait_for_executions(timeout=120)
    assert registry_items(hub, "acme-retail")["META"]["status"] == "ACTIVE"


def test_samples_are_listed_and_an_aws_source_or_unknown_name_is_refused_in_one_line(capsys):
    assert main(["events", "sample"]) == 0
    listed = capsys.readouterr().out.split()
    assert "onboarding/acme-retail-us" in listed and "import/manifest-support-bot-1.0.0" not in listed  # a manifest, not an event
    for name, says in (("import/s3-object-created-forwarded", "events are sent by AWS itself"), ("nope", "no sample 'nope'")):
        assert main(["events", "sample", name]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
