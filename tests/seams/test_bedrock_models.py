"""Seam tests of hubsim/patches/bedrock_models.py: ListFoundationModels and GetFoundationModel with
their lifecycle, moved by the emulation's hook as AWS moves models on its own schedule."""
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

SONNET_35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"


@pytest.fixture
def lifecycles():
    from hubsim.patches import bedrock_models

    yield bedrock_models
    bedrock_models.reset_lifecycles()


def test_foundation_models_are_listed_with_their_lifecycle_and_move_to_legacy(engine, lifecycles):
    bedrock = engine.client("bedrock")
    listed = {m["modelId"]: m for m in bedrock.list_foundation_models()["modelSummaries"]}
    assert listed[SONNET_35]["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_35}"
    assert listed[SONNET_35]["providerName"] == "Anthropic" and listed[SONNET_35]["modelLifecycle"]["status"] == "ACTIVE"
    assert {m["providerName"] for m in bedrock.list_foundation_models(byProvider="amazon")["modelSummaries"]} == {"Amazon"}

    # When AWS moves it to Legacy with an end-of-life date
    legacy, end = datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2027, 1, 15, tzinfo=timezone.utc)
    lifecycles.set_lifecycle(SONNET_35, "LEGACY", legacy_time=legacy, end_of_life_time=end)

    # Then both APIs say so, with the dates, as timestamps
    lifecycle = bedrock.get_foundation_model(modelIdentifier=SONNET_35)["modelDetails"]["modelLifecycle"]
    assert lifecycle["status"] == "LEGACY" and lifecycle["legacyTime"] == legacy and lifecycle["endOfLifeTime"] == end
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_35}"
    assert bedrock.get_foundation_model(modelIdentifier=arn)["modelDetails"]["modelId"] == SONNET_35
    assert {m["modelId"]: m for m in bedrock.list_foundation_models()["modelSummaries"]}[SONNET_35]["modelLifecycle"]["status"] == "LEGACY"
    with pytest.raises(ClientError) as unknown:
        bedrock.get_foundation_model(modelIdentifier="acme.not-a-model-v1:0")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
