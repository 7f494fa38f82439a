"""`hubctl research drop`: the hub's checks on a local model folder, then the upload with import.json last."""
import json

import boto3
import pytest

from hubctl.cli import main
from hubsim import sample_model
from hubsim.engine import RESEARCH_ACCOUNT


@pytest.fixture
def folder(tmp_path):
    for name, body in sample_model.files().items():
        (tmp_path / name).write_bytes(body)
    (tmp_path / "import.json").write_text(json.dumps(sample_model.manifest("support-bot", "1.0.0", tenants=["acme-retail"])))
    return tmp_path


def _drop(folder, *extra) -> list[str]:
    return ["research", "drop", str(folder), "--model", "support-bot", "--version", "1.0.0", *extra]


def test_a_good_folder_passes_the_hubs_checks_and_a_bad_one_is_refused_naming_the_file(folder, capsys):
    assert main(_drop(folder, "--check-only")) == 0
    assert "LlamaForCausalLM (llama), 2 safetensors shards" in capsys.readouterr().out
    (folder / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}))
    assert main(_drop(folder, "--check-only")) == 2
    err = capsys.readouterr().err
    assert "config.json: architecture GPT2LMHeadModel is not supported" in err and len(err.strip().splitlines()) == 1


def test_a_manifest_that_disagrees_or_is_missing_is_refused_before_anything_is_uploaded(folder, capsys):
    assert main(_drop(folder, "--check-only")[:-1] + ["--version", "2.0.0", "--check-only"]) == 2
    assert "version is '1.0.0' but --version is '2.0.0'" in capsys.readouterr().err
    (folder / "import.json").unlink()
    assert main(_drop(folder, "--check-only")) == 2
    assert "no import.json" in capsys.readouterr().err


def test_the_drop_is_uploaded_with_import_json_last_and_the_hub_imports_it(hub, folder, capsys):
    bucket = hub.deploy_research_spoke()["ArtifactBucketName"]
    research = hub.account_session(RESEARCH_ACCOUNT).get_credentials()  # the research team's own credentials
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", research.access_key)
        env.setenv("AWS_SECRET_ACCESS_KEY", research.secret_key)
        env.setenv("AWS_SESSION_TOKEN", research.token)
        env.setattr(boto3, "DEFAULT_SESSION", None)  # a new default session reads them, as a new process would
        assert main(_drop(folder, "--bucket", bucket)) == 0
    # import.json tagged with the caller's own UserId (the research account's root here: its id)
    assert f"(last, submitted by {RESEARCH_ACCOUNT}) to s3://{bucket}/models/support-bot/1.0.0/" in capsys.readouterr().out
    hub.wait_for_executions(timeout=120)
    version = hub.client("dynamodb").get_item(TableName=hub.outputs["RegistryTableName"], ConsistentRead=True,
                                              Key={"pk": {"S": "MODEL#support-bot"}, "sk": {"S": "VERSION#1.0.0"}})["Item"]
    assert version["status"]["S"] in ("IMPORTED", "EVALUATING", "AWAITING_APPROVAL", "APPROVED", "REJECTED")  # the import ran
    assert version["submitter"]["M"]["user_id"]["S"] == RESEARCH_ACCOUNT
