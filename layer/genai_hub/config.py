"""Configuration read from the Lambda environment at call time.

Read lazily, never at import: one process may host several functions (the local engine does),
and each invocation sees its own environment.
"""
import os


def _required(name: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        raise RuntimeError(f"environment variable {name} is not set; the template sets it on every function") from None


def registry_table() -> str:
    return _required("REGISTRY_TABLE")


def audit_table() -> str:
    return _required("AUDIT_TABLE")


def idempotency_table() -> str:
    return _required("IDEMPOTENCY_TABLE")


def event_bus() -> str:
    return _required("EVENT_BUS_NAME")


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def provisioning_role_name() -> str:
    """Name of the role every tenant spoke account exposes to the hub (spokes/tenant.yaml)."""
    return os.environ.get("SPOKE_PROVISIONING_ROLE_NAME", "genai-hub-provisioning")


def tenant_invoke_role_name(tenant_id: str) -> str:
    """The tenant's invoke role in its spoke account; per tenant, since tenants may share an account."""
    return f"genai-hub-{tenant_id}-invoke"
