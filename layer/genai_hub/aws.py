"""boto3 clients, created once per (service, region, credentials) and shared across threads.

boto3 clients are thread-safe; creating one costs a few milliseconds, so caching them keeps
warm invocations fast.
"""
import functools
import os
import threading

import boto3
from botocore.config import Config

_lock = threading.Lock()
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})


@functools.lru_cache(maxsize=None)
def _session() -> boto3.session.Session:
    return boto3.session.Session()


_clients: dict = {}


def _environment_credentials() -> dict | None:
    """The execution role's credentials Lambda puts in the environment. Read per call and passed
    explicitly: a cached session would keep the first ones it resolved, and a process that hosts
    several functions (the local engine) must not hand one function's role to another."""
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    if not key:
        return None
    return {"AccessKeyId": key, "SecretAccessKey": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
            "SessionToken": os.environ.get("AWS_SESSION_TOKEN")}


def client(service: str, region: str | None = None, credentials: dict | None = None):
    """A client for `service`; `credentials` from sts:AssumeRole make it act in another account."""
    assumed = credentials is not None
    credentials = credentials or _environment_credentials()
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
            if assumed:
                # Assumed-role clients are short-lived: not cached, but built from the shared session
                # (a new Session re-reads botocore's data files: tens of milliseconds).
                return _session().client(service, **kwargs)
            _clients[key] = _session().client(service, **kwargs)
        return _clients[key]


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")
