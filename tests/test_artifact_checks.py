"""Artifact checks and grant verification as pure functions: each failure names the file or statement."""
import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genai_hub import artifacts, grants
from genai_hub.errors import ArtifactMissing, CorruptSafetensors, UnsupportedArchitecture
from hubsim import sample_model


class DictReader:
    """artifacts.Reader over a dict; counts the bytes read, to prove headers are read alone."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.bytes_read = files, 0

    def list(self):
        return {k: len(v) for k, v in self.files.items()}

    def read(self, name, start=0, end=None):
        if name not in self.files:
            raise ArtifactMissing(f"{name} is missing")
        body = self.files[name] if end is None else self.files[name][start:end + 1]
        self.bytes_read += len(body)
        return body


def test_a_real_drop_passes_and_only_headers_are_read():
    drop = sample_model.files()
    big = sample_model.files(shards=1)
    # a shard with 4 MB of tensor data: its bytes must not be read
    import numpy as np
    from safetensors.numpy import save
    drop["model-00002-of-00002.safetensors"] = save({"w": np.zeros((1024, 1024), dtype=np.float32)})
    reader = DictReader(drop)
    report = artifacts.check_drop(reader)
    assert (report.architecture, report.model_type, report.tensors) == ("LlamaForCausalLM", "llama", 3)
    assert reader.bytes_read < 10_000
    assert big  # sample builder works with one shard too


@pytest.mark.parametrize("remove,named", [
    ("config.json", "config.json"),
    ("tokenizer_config.json", "tokenizer_config.json"),
    ("tokenizer.json", "tokenizer.json or tokenizer.model"),
])
def test_missing_file_is_named(remove, named):
    drop = sample_model.files()
    del drop[remove]
    with pytest.raises(ArtifactMissing, match=named.replace(".", r"\.")):
        artifacts.check_drop(DictReader(drop))


def test_no_weights_is_named():
    drop = {k: v for k, v in sample_model.files().items() if not k.endswith(".safetensors")}
    with pytest.raises(ArtifactMissing, match="safetensors"):
        artifacts.check_drop(DictReader(drop))


@pytest.mark.parametrize("config,message", [
    ({"architectures": ["BertForMaskedLM"], "model_type": "bert"}, "BertForMaskedLM is not supported"),
    ({"model_type": "llama"}, "no `architectures`"),
    ({"architectures": ["LlamaForCausalLM"], "model_type": "mistral"}, "does not match"),
])
def test_unsupported_architecture_is_named(config, message):
    with pytest.raises(UnsupportedArchitecture, match=message):
        artifacts.check_config(json.dumps(config).encode())


def test_every_supported_architecture_is_accepted():
    for architecture, model_type in artifacts.requirements()["supported"].items():
        assert artifacts.check_config(json.dumps({"architectures": [architecture], "model_type": model_type}).encode()) == (architecture, model_type)


def _shard(header: bytes, data: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + data


@pytest.mark.parametrize("body,message", [
    (b"\x01\x02", "shorter than the 8-byte header length"),
    (struct.pack("<Q", 10**12) + b"{}", "impossible"),
    (_shard(b"{not json"), "not valid JSON"),
    (_shard(b"[1, 2]"), "not a JSON object"),
    (_shard(json.dumps({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 400]}}).encode(), b"\0" * 4), "outside the file"),
    (_shard(json.dumps({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 4]}}).encode(), b"\0" * 4), "dtype"),
])
def test_corrupt_safetensors_header_is_named(body, message):
    drop = sample_model.files()
    drop["model-00002-of-00002.safetensors"] = body
    with pytest.raises(CorruptSafetensors, match=f"model-00002-of-00002.safetensors: .*{message}"):
        artifacts.check_drop(DictReader(drop))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_as_a_shard_never_crash_the_check(body):
    drop = sample_model.files()
    drop["model-00001-of-00002.safetensors"] = body
    try:
        artifacts.check_drop(DictReader(drop))
    except CorruptSafetensors as error:
        assert "model-00001-of-00002.safetensors" in str(error)


ROLE = "arn:aws:iam::123456789012:role/genai-hub-model-import"
KEY = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _bucket_policy(*extra, get=True, list_=True):
    statements = list(extra)
    if get:
        statements.append({"Sid": "AllowHubImportRoleRead", "Effect": "Allow", "Principal": {"AWS": ROLE},
                           "Action": "s3:GetObject", "Resource": "arn:aws:s3:::drops/*"})
    if list_:
        statements.append({"Sid": "AllowHubImportRoleList", "Effect": "Allow", "Principal": {"AWS": ROLE},
                           "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::drops"})
    statements.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": ["arn:aws:s3:::drops", "arn:aws:s3:::drops/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def _key_policy(principal=ROLE, action="kms:Decrypt"):
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "AllowHubImportRoleDecrypt", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*"},
    ]}


def _problems(bucket_policy, key_policy):
    return grants.problems(bucket_policy, key_policy, role_arn=ROLE, bucket="drops", key_arn=KEY)


def test_research_template_grants_pass():
    assert _problems(_bucket_policy(), _key_policy()) == []


def test_missing_get_object_is_named():
    assert _problems(_bucket_policy(get=False), _key_policy()) == [
        f"bucket policy has no statement allowing {ROLE} s3:GetObject on arn:aws:s3:::drops/*"]


def test_grant_to_another_principal_is_missing_for_ours():
    other = "arn:aws:iam::999999999999:role/someone-else"
    found = _problems(_bucket_policy(), _key_policy(principal=other))
    assert found == [f"key policy has no statement allowing {ROLE} kms:Decrypt on {KEY}"]


def test_key_policy_without_decrypt_is_named():
    assert _problems(_bucket_policy(), _key_policy(action="kms:Encrypt")) == [
        f"key policy has no statement allowing {ROLE} kms:Decrypt on {KEY}"]


def test_explicit_deny_is_named_by_its_sid():
    deny = {"Sid": "NoHubReads", "Effect": "Deny", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::drops/*"}
    assert _problems(_bucket_policy(deny), _key_policy()) == [
        f"bucket policy statement NoHubReads denies {ROLE} s3:GetObject on arn:aws:s3:::drops/*"]


def test_no_bucket_policy_at_all_names_both_statements():
    assert len(_problems(None, _key_policy())) == 2
