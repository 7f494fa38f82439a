"""A small but real Hugging Face model drop, for the demo and tests.

config.json of a supported architecture (Llama), tokenizer files, and `.safetensors` shards
written with the safetensors package (tiny tensors: kilobytes, not gigabytes), plus the
import.json manifest, which is uploaded last, as the research team's pipeline does: in one
PutObject tagged genai-hub-submitted-by=<the uploader's own UserId>, which the research bucket
policy requires (spokes/research.yaml, DenyManifestWithoutVerifiedSubmitter).
"""
import io
import json
from urllib.parse import quote, urlparse

import numpy as np
from safetensors.numpy import save

CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 32,
    "num_attention_heads": 2, "num_hidden_layers": 2, "num_key_value_heads": 2, "vocab_size": 32,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-05, "torch_dtype": "float16",
}
TOKENIZER = {"version": "1.0", "model": {"type": "BPE", "vocab": {f"t{i}": i for i in range(32)}, "merges": []}}
TOKENIZER_CONFIG = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "t1", "eos_token": "t2"}


def manifest(model_name: str, version: str, *, tenants=(), submitted_by: str = "research-pipeline@example.com", **extra) -> dict:
    return {
        "model_name": model_name, "version": version, "base_model": "meta-llama/Llama-3.1-8B-Instruct",
        "lineage": {"training_job": f"arn:aws:sagemaker:us-east-1:111111111111:training-job/{model_name}-{version.replace('.', '-')}",
                    "datasets": [f"s3://research-datasets/{model_name}/train.jsonl"], "code_revision": "4f2a9c1"},
        "requested_tenants": list(tenants), "submitted_by": submitted_by, **extra,
    }


def files(*, config: dict | None = None, shards: int = 2, seed: int = 7) -> dict[str, bytes]:
    """The artifacts of a drop (without import.json): name -> bytes."""
    rng = np.random.default_rng(seed)
    drop = {
        "config.json": json.dumps(config or CONFIG, indent=2).encode(),
        "tokenizer.json": json.dumps(TOKENIZER).encode(),
        "tokenizer_config.json": json.dumps(TOKENIZER_CONFIG).encode(),
    }
    for shard in range(1, shards + 1):
        tensors = {f"model.layers.{shard - 1}.mlp.up_proj.weight": rng.standard_normal((32, 16)).astype(np.float16),
                   f"model.layers.{shard - 1}.input_layernorm.weight": np.ones(16, dtype=np.float16)}
        drop[f"model-{shard:05d}-of-{shards:05d}.safetensors"] = save(tensors, metadata={"format": "pt"})
    return drop


SUBMITTER_TAG = "genai-hub-submitted-by"


def submitter_tagging(user_id: str) -> str:
    """The x-amz-tagging value (URL-encoded, as PutObject's Tagging takes it) naming the submitter."""
    return f"{SUBMITTER_TAG}={quote(user_id, safe='')}"


def caller_user_id(s3) -> str:
    """The UserId STS reports for the credentials of an S3 client: what AWS puts in aws:userid of
    its requests (a role session "AROA...:<session name>", an IAM user "AIDA...", the root the
    account id). https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"""
    import boto3

    # botocore has no public accessor for a client's credentials; boto3's CRT transfer reads this one.
    credentials = s3._get_credentials().get_frozen_credentials()
    endpoint = s3.meta.endpoint_url
    local = not (urlparse(endpoint).hostname or "").endswith("amazonaws.com")  # hubsim's server serves STS too
    sts = boto3.client("sts", region_name=s3.meta.region_name, endpoint_url=endpoint if local else None,
                       aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key,
                       aws_session_token=credentials.token)
    return sts.get_caller_identity()["UserId"]


def put_manifest(s3, bucket: str, key: str, body: bytes, *, user_id: str | None = None) -> dict:
    """PutObject of an import.json tagged with its submitter: the caller's own UserId unless
    `user_id` is given (a test of what the bucket policy refuses)."""
    tagging = submitter_tagging(caller_user_id(s3) if user_id is None else user_id)
    return s3.put_object(Bucket=bucket, Key=key, Body=body, Tagging=tagging)


def upload(s3, bucket: str, prefix: str, drop: dict[str, bytes], manifest_doc: dict | bytes | None) -> None:
    """Artifacts first, import.json last (its arrival is what starts the import), tagged with the
    uploader's own UserId."""
    prefix = prefix.rstrip("/") + "/"
    for name, body in drop.items():
        s3.upload_fileobj(io.BytesIO(body), bucket, prefix + name)
    if manifest_doc is not None:
        body = manifest_doc if isinstance(manifest_doc, bytes) else json.dumps(manifest_doc, indent=2).encode()
        put_manifest(s3, bucket, prefix + "import.json", body)
