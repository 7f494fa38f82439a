"""boto3 clients, created once per (service, region, credentials) and shared across threads.

boto3 clients are thread-safe; creating one costs a few milliseconds, so caching them keeps
warm invocations fast.
"""
import functools
import threading

import boto3
from botocore.config import Config

_lock = threading.Lock()
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})


@functools.lru_cache(maxsize=None)
def _session() -> boto3.session.Session:
    return boto3.session.Session()


_clients: dict = {}


def client(service: str, region: str | None = None, credentials: dict | None = None):
    """A client for `service`; `credentials` from sts:AssumeRole make it act in another account."""
    key = (service, region, credentials["AccessKeyId"] if credentials else None)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            kwargs = {"config": _RETRIES}
            if region:
                kwargs["region_name"] = region
            if credentials:
                kwargs.update(
                    aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    aws_session_token=credentials["SessionToken"],
                )
                # Assumed-role clients are short-lived: not cached, but built from the shared session
                # (a new Session re-reads botocore's data files: tens of milliseconds).
                return _session().client(service, **kwargs)
            _clients[key] = _session().client(service, **kwargs)
        return _clients[key]


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")
