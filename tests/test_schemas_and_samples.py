"""Every event schema is valid, every sample event matches its schema, every emitted detail matches too."""
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from genai_hub import schemas
from genai_hub.errors import InvalidInput

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "events").rglob("*.json"))
DESIGN_EVENTS = ["TenantOnboardingRequested", "TenantOnboarded", "TenantOnboardingFailed", "WorkflowInputRejected",
                 "ModelImportRequested", "ModelImported", "ModelImportFailed", "ModelPromoted", "ModelRejected",
                 "ModelRetirementRequested", "ModelRetirementScheduled", "ModelRetired"]


def test_top_level_schemas_folder_is_the_packaged_one():
    # schemas/ (layout) and the package the Lambdas ship are the same files: one source of truth
    assert (ROOT / "schemas").resolve() == Path(schemas.__file__).parent.resolve()


@pytest.mark.parametrize("detail_type", schemas.event_detail_types())
def test_schema_is_a_valid_draft_2020_12_schema(detail_type):
    Draft202012Validator.check_schema(json.loads(schemas.event_schema_path(detail_type).read_text()))


def test_every_event_of_this_workflow_has_a_schema():
    assert set(DESIGN_EVENTS) <= set(schemas.event_detail_types())


@pytest.mark.parametrize("path", SAMPLES, ids=[str(p.relative_to(ROOT)) for p in SAMPLES])
def test_sample_event_matches_its_schema_unless_it_is_meant_to_be_rejected(path):
    sample = json.loads(path.read_text())
    if "detail-type" not in sample:  # an import manifest (import.json)
        schemas.validate_document("import-manifest", sample)
        return
    if sample["source"] == "aws.s3":  # what the research account forwards: an import.json was written
        assert sample["detail-type"] == "Object Created" and sample["detail"]["object"]["key"].endswith("/import.json")
        return
    assert sample["source"] == "genai.hub"
    if sample.get("expect", {}).get("rejected"):
        with pytest.raises(InvalidInput) as raised:
            schemas.validate_detail(sample["detail-type"], sample["detail"])
        assert raised.value.field == sample["expect"]["field"]
    else:
        schemas.validate_detail(sample["detail-type"], sample["detail"])


def test_defaults_are_filled_in():
    detail = json.loads((ROOT / "events/onboarding/bavaria-bank-eu.json").read_text())["detail"]
    validated = schemas.validate_detail("TenantOnboardingRequested", detail)
    assert validated["allow_global_inference"] is False
    assert "allow_global_inference" not in detail  # the caller's dict is not modified


def test_emitted_details_match_their_schemas(hub, onboard, hub_events):
    from conftest import sample

    onboard(sample("onboarding/acme-retail-us.json"))
    onboard(sample("onboarding/invalid-residency.json"), deploy_spoke=False)
    onboard(sample("onboarding/eu-tenant-us-only-model.json"))
    emitted = [e for e in hub_events() if not e["detail-type"].endswith("Requested")]  # what the hub wrote
    assert {e["detail-type"] for e in emitted} == {"TenantOnboarded", "WorkflowInputRejected", "TenantOnboardingFailed"}
    for event in emitted:
        schemas.validate_detail(event["detail-type"], event["detail"])


def test_the_docs_state_the_evaluation_policy_limits_the_schema_enforces():
    # The README once promised max_items up to 1000 where the schema stops at 100 (the 256 KiB state limit);
    # the evaluation workflow's page holds that paragraph now.
    import re

    schema = json.loads((ROOT / "layer/genai_hub/schemas/evaluation-policy.json").read_text())["properties"]["max_items"]
    stated = re.search(r"`max_items` \((\d+)-(\d+), default (\d+)", (ROOT / "docs/workflows/evaluation.md").read_text())
    assert stated, "docs/workflows/evaluation.md: the Policies paragraph no longer states max_items' range"
    assert tuple(map(int, stated.groups())) == (schema["minimum"], schema["maximum"], schema["default"])
