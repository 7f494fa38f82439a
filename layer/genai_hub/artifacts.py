"""Checks of a Hugging Face model drop before Bedrock Custom Model Import sees it.

Pure functions over a small reader (list the prefix, read a byte range), so each check is testable
without S3: config.json architecture in the supported list (data/custom_model_import.json),
tokenizer files present, every .safetensors header parses (reading the 8-byte length and the JSON
header only, never the tensors), total size within the limit. Each failure names the file.
"""
import functools
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from genai_hub.errors import ArtifactMissing, ArtifactsTooLarge, CorruptSafetensors, UnsupportedArchitecture

_DATA = Path(__file__).parent / "data" / "custom_model_import.json"
_DTYPES = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"}


@functools.lru_cache(maxsize=1)
def requirements() -> dict:
    return json.loads(_DATA.read_text())


class Reader(Protocol):
    def list(self) -> dict[str, int]:
        """Every object under the drop's prefix: relative name -> size in bytes."""

    def read(self, name: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes [start, end] (inclusive, like an HTTP Range) of one object; the whole object without end."""


@dataclass
class Report:
    architecture: str
    model_type: str
    safetensors: list[str]
    tensors: int
    total_bytes: int

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def check_config(raw: bytes) -> tuple[str, str]:
    """(architecture, model_type) from config.json, or UnsupportedArchitecture naming what was found."""
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise UnsupportedArchitecture(f"config.json is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise UnsupportedArchitecture("config.json is not a JSON object")
    architectures = config.get("architectures")
    model_type = config.get("model_type")
    supported = requirements()["supported"]
    if not isinstance(architectures, list) or not architectures:
        raise UnsupportedArchitecture("config.json has no `architectures` list")
    for architecture in architectures:
        if architecture in supported:
            if model_type is not None and model_type != supported[architecture]:
                raise UnsupportedArchitecture(
                    f"config.json: model_type {model_type!r} does not match architecture {architecture} "
                    f"(expected {supported[architecture]!r})"
                )
            return architecture, supported[architecture]
    raise UnsupportedArchitecture(
        f"config.json: architecture {', '.join(map(str, architectures))} is not supported by Bedrock Custom Model Import "
        f"(supported: {', '.join(sorted(supported))})"
    )


def check_tokenizer(names: set[str]) -> None:
    rules = requirements()["tokenizer"]
    missing = [n for n in rules["required"] if n not in names]
    if not any(n in names for n in rules["one_of"]):
        missing.append(" or ".join(rules["one_of"]))
    if missing:
        raise ArtifactMissing(f"tokenizer file missing: {', '.join(missing)}")


def parse_safetensors_header(name: str, size: int, read) -> int:
    """Number of tensors in one file, from its header alone; `read(start, end)` returns a byte range."""
    if size < 8:
        raise CorruptSafetensors(f"{name}: {size} bytes, shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", read(0, 7))
    limit = requirements()["max_safetensors_header_bytes"]
    if length == 0 or length > limit or 8 + length > size:
        raise CorruptSafetensors(f"{name}: header length {length} is impossible for a file of {size} bytes (limit {limit})")
    raw = read(8, 8 + length - 1)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptSafetensors(f"{name}: header is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(header, dict):
        raise CorruptSafetensors(f"{name}: header is not a JSON object")
    data_bytes, tensors = size - 8 - length, 0
    for tensor, info in header.items():
        if tensor == "__metadata__":
            continue
        if not isinstance(info, dict) or info.get("dtype") not in _DTYPES or not isinstance(info.get("shape"), list):
            raise CorruptSafetensors(f"{name}: tensor {tensor!r} has no valid dtype/shape")
        offsets = info.get("data_offsets")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_bytes):
            raise CorruptSafetensors(f"{name}: tensor {tensor!r} has data_offsets outside the file")
        tensors += 1
    return tensors


def check_drop(reader: Reader) -> Report:
    """All checks, cheapest first; raises the first problem, naming the file."""
    files = reader.list()
    if "config.json" not in files:
        raise ArtifactMissing("config.json is missing")
    check_tokenizer(set(files))
    shards = sorted(n for n in files if n.endswith(".safetensors"))
    if not shards:
        raise ArtifactMissing("no .safetensors weights in the drop")
    total = sum(files.values())
    if total > requirements()["max_total_bytes"]:
        raise ArtifactsTooLarge(f"the drop holds {total} bytes, more than the {requirements()['max_total_bytes']} Bedrock accepts")
    architecture, model_type = check_config(reader.read("config.json"))
    tensors = sum(parse_safetensors_header(n, files[n], lambda s, e, n=n: reader.read(n, s, e)) for n in shards)
    return Report(architecture=architecture, model_type=model_type, safetensors=shards, tensors=tensors, total_bytes=total)
