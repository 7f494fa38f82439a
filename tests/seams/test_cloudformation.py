"""Seam tests of hubsim/patches/cloudformation.py: JSON template bodies read as JSON, stable generated
names.

Each test drives one patched moto behaviour through the public AWS APIs of the emulation, without
the hub stack or a workflow, so that a moto upgrade that changes what a patch relies on fails
here, by name, rather than somewhere in an onboarding run).
"""
import json
import re
import textwrap

import pytest


def test_json_and_yaml_template_bodies_read_alike(engine, tmp_path, monkeypatch):
    import moto.cloudformation.models as cfn_models

    cfn = engine.client("cloudformation")
    yaml_body = textwrap.dedent("""\
        Parameters:
          Suffix: {Type: String, Default: one}
        Resources:
          Queue:
            Type: AWS::SQS::Queue
            Properties:
              QueueName: !Sub seam-body-${Suffix}
        Outputs:
          QueueName: {Value: !GetAtt Queue.QueueName}
    """)
    json_body = json.dumps({
        "Parameters": {"Suffix": {"Type": "String", "Default": "one"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue",
                                "Properties": {"QueueName": {"Fn::Sub": "seam-body-${Suffix}"}}}},
        "Outputs": {"QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}},
    }, indent=2)

    def outputs(stack: str) -> dict:
        return {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}

    # A YAML body with short-form tags is still read by moto's YAML reading
    cfn.create_stack(StackName="seam-yaml", TemplateBody=yaml_body, Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "yaml"}])
    assert outputs("seam-yaml") == {"QueueName": "seam-body-yaml"}

    # A JSON body is read without the YAML loader at all, to the same stack
    monkeypatch.setattr(cfn_models.yaml, "load", lambda *a, **k: pytest.fail("JSON body read with the YAML loader"))
    cfn.create_stack(StackName="seam-json", TemplateBody=json_body, Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "json"}])
    assert outputs("seam-json") == {"QueueName": "seam-body-json"}


def test_a_stack_gets_the_same_generated_names_in_a_fresh_emulation_and_new_ones_when_recreated(engine):
    from moto.moto_api._internal import mock_random
    from moto.moto_api._internal.models import moto_api_backend

    cfn = engine.client("cloudformation")
    body = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                       "Outputs": {"QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}}})

    def deployed_name() -> str:
        cfn.create_stack(StackName="seam-names", TemplateBody=body)
        return cfn.describe_stacks(StackName="seam-names")["Stacks"][0]["Outputs"][0]["OutputValue"]

    # A generated name keeps CloudFormation's shape
    first = deployed_name()
    assert re.fullmatch(r"seam-names-Queue-[A-Z0-9]{12}", first)
    drawn_after = mock_random.random()
    # Created again after a delete, the stack gets a new name, as on AWS
    cfn.delete_stack(StackName="seam-names")
    assert deployed_name() != first
    # In a fresh emulation the same deployment gets the same name (its definitions parse once)
    moto_api_backend.reset()
    assert deployed_name() == first
    # And the shared random source was not made predictable by the seeded deployments
    assert mock_random.random() != drawn_after


def test_resources_moto_does_not_create_are_counted_not_logged_unless_verbose(engine, monkeypatch, caplog):
    from hubsim.patches import cloudformation as cfn_patch

    cfn = engine.client("cloudformation")
    body = json.dumps({"Resources": {
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum", "Period": 60,
            "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}},
        "Queue": {"Type": "AWS::SQS::Queue"}}})
    before = cfn_patch.not_emulated["AWS::CloudWatch::Alarm"]
    caplog.set_level("WARNING")

    cfn.create_stack(StackName="seam-quiet", TemplateBody=body)
    assert cfn_patch.not_emulated["AWS::CloudWatch::Alarm"] == before + 1  # counted for the report
    assert "No Moto CloudFormation support" not in caplog.text  # and not a line per deployment

    monkeypatch.setenv("HUBSIM_VERBOSE", "1")
    cfn.create_stack(StackName="seam-verbose", TemplateBody=body)
    assert "No Moto CloudFormation support for AWS::CloudWatch::Alarm" in caplog.text
