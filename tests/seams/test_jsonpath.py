"""Seam tests of hubsim/patches/jsonpath.py: JSONPath expressions parsed once per process.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json

from .conftest import HUB_ACCOUNT, _wait_for_execution


def test_jsonpath_expressions_are_parsed_once_and_still_evaluate(engine):
    import jsonpath_ng
    import jsonpath_ng.ext
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    # The same path gives the same parsed expression, in both dialects moto uses
    assert jsonpath_ng.ext.parse("$.tenant.tenant_id") is jsonpath_ng.ext.parse("$.tenant.tenant_id")
    assert jsonpath_ng.parse("$.result") is jsonpath_ng.parse("$.result")
    # and sharing it changes no answer: reads of different documents, writes into different documents
    assert extract_json("$.tenant.tenant_id", {"tenant": {"tenant_id": "acme"}}) == "acme"
    assert extract_json("$.tenant.tenant_id", {"tenant": {"tenant_id": "globex"}}) == "globex"
    first, second = {}, {"kept": 1}
    jsonpath_ng.parse("$.result").update_or_create(first, 1)
    jsonpath_ng.parse("$.result").update_or_create(second, 2)
    assert (first, second) == ({"result": 1}, {"kept": 1, "result": 2})

    # And a state machine's paths (Parameters, ResultPath, OutputPath) evaluate per execution
    sfn = engine.client("stepfunctions")
    definition = {"StartAt": "Shape", "States": {"Shape": {
        "Type": "Pass", "Parameters": {"who.$": "$.tenant.tenant_id"}, "ResultPath": "$.shaped", "OutputPath": "$.shaped",
        "End": True}}}
    arn = sfn.create_state_machine(name="seam-jsonpath", definition=json.dumps(definition),
                                   roleArn=f"arn:aws:iam::{HUB_ACCOUNT}:role/seam-states")["stateMachineArn"]
    outputs = [json.loads(_wait_for_execution(sfn, sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({"tenant": {"tenant_id": t}}))["executionArn"])["output"]) for t in ("a", "b")]
    assert outputs == [{"who": "a"}, {"who": "b"}]
