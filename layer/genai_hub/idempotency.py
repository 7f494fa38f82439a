"""Powertools idempotency for side-effecting steps.

The key is the step's whole input, which carries the execution id and the state name: a Lambda
retried by the state machine's retrier after its effect happened returns the stored result
instead of acting twice, while a new execution (a new onboarding) is a new key.
"""
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

import threading

from genai_hub import aws, config

__all__ = ["idempotent_step", "prepare"]

_STEP_CONFIG = IdempotencyConfig(expires_after_seconds=24 * 3600, raise_on_no_idempotency_key=True)
_stores: dict[tuple, DynamoDBPersistenceLayer] = {}
_lock = threading.Lock()


def _store() -> DynamoDBPersistenceLayer:
    # One store per table and credentials: a process hosting several functions (the local engine)
    # must not write one function's records with another function's role.
    client = aws.client("dynamodb")
    key = (config.idempotency_table(), id(client))
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                # The shared client: Powertools would otherwise build a new boto3 Session.
                store = _stores[key] = DynamoDBPersistenceLayer(table_name=key[0], boto3_client=client)
    return store


def prepare(context) -> None:
    """Call in the handler before an idempotent step: lets Powertools stop before the Lambda times out."""
    _STEP_CONFIG.register_lambda_context(context)


def idempotent_step(fn):
    """Make a step function `fn(step: dict)` idempotent on its input (called with step=...)."""

    def wrapper(*, step: dict):
        guarded = idempotent_function(
            data_keyword_argument="step", config=_STEP_CONFIG, persistence_store=_store()
        )(fn)
        return guarded(step=step)

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper
