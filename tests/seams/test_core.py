"""Seam tests of hubsim/patches/core.py: operations added by patches are dispatched.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""


def test_operations_added_by_patches_are_dispatched(engine):
    from moto.bedrock.responses import BedrockResponse
    from moto.core import responses

    from hubsim.patches import core

    # Operations the patch layer adds to a response class are found (bedrock inference profiles)
    assert "list_inference_profiles" in responses.method_names_from_class(BedrockResponse)
    assert engine.client("bedrock").list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"]
    # and the reflection runs once per class, not once per request
    assert responses.method_names_from_class(BedrockResponse) is responses.method_names_from_class(BedrockResponse)
    # and a method added later is seen once the cache is cleared (apply_all does it after the patches)
    BedrockResponse.seam_added_operation = lambda self: "{}"
    try:
        core.clear()
        assert "seam_added_operation" in responses.method_names_from_class(BedrockResponse)
    finally:
        del BedrockResponse.seam_added_operation
        core.clear()
