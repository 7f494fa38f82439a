"""Configuration read from the Lambda environment at call time.

Read lazily, never at import: one process may host several functions (the local engine does),
and each invocation sees its own environment.
"""
import json
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


def tenant_access_role_arn() -> str:
    """The one hub role every tenant's vended session is a session of (genai_hub.access)."""
    return _required("TENANT_ACCESS_ROLE_ARN")


def guardrails() -> dict[str, str]:
    """The hub's guardrails by name (template.yaml StandardGuardrail, StrictGuardrail), each
    `<guardrail ARN>:<version>`: the value of bedrock:GuardrailIdentifier that a call must carry."""
    return json.loads(_required("HUB_GUARDRAILS"))


def invocation_log_bucket() -> str:
    """The bucket Bedrock's model invocation logs go to (template.yaml InvocationLogBucket)."""
    return _required("INVOCATION_LOG_BUCKET")


def usage_export_bucket() -> str:
    """Where the daily FOCUS usage export goes (template.yaml UsageExportBucket)."""
    return _required("USAGE_EXPORT_BUCKET")


def default_guardrail() -> str:
    """The guardrail of a tenant that names none (parameter DefaultGuardrail)."""
    return os.environ.get("DEFAULT_GUARDRAIL") or "standard"


def model_import_role_arn() -> str:
    """The hub role Bedrock uses to read a research drop; the hub reads the drop through it too."""
    return _required("MODEL_IMPORT_ROLE_ARN")


def research_account_id() -> str:
    """The only account whose drops the hub imports (spokes/research.yaml is deployed there)."""
    return _required("RESEARCH_ACCOUNT_ID")


def research_region() -> str:
    """The Region of the research bucket and its KMS key (ResearchRegion; the hub's by default)."""
    return os.environ.get("RESEARCH_REGION") or region()


def research_external_id() -> str:
    return _required("RESEARCH_EXTERNAL_ID")


def grants_reader_role_name() -> str:
    return os.environ.get("GRANTS_READER_ROLE_NAME", "genai-hub-grants-reader")


def import_poll() -> tuple[int, int, int]:
    """(first wait, longest wait, deadline) in seconds for polling an import job."""
    return (
        int(os.environ.get("IMPORT_POLL_INITIAL_SECONDS", "60")),
        int(os.environ.get("IMPORT_POLL_MAX_SECONDS", "900")),
        int(os.environ.get("IMPORT_DEADLINE_SECONDS", str(6 * 3600))),
    )


def import_slot_wait() -> int:
    """Seconds between two tries for the import slot while another import runs."""
    return int(os.environ.get("IMPORT_SLOT_WAIT_SECONDS", "60"))


def evaluation_bucket() -> str:
    return _required("EVALUATION_BUCKET")


# --- budget alerts -----------------------------------------------------------------------------

def default_budget_thresholds() -> dict[str, float]:
    """Fractions of a tenant's monthly limit when its onboarding request names none."""
    return {"yellow": float(os.environ.get("BUDGET_YELLOW_DEFAULT", "0.8")),
            "orange": float(os.environ.get("BUDGET_ORANGE_DEFAULT", "0.9"))}


def budget_rules() -> dict[str, str]:
    """Hysteresis, sustained-rise and forecast settings of the level function (genai_hub.budget.Policy)."""
    return {
        "hysteresis": os.environ.get("BUDGET_HYSTERESIS", "0.05"),
        "rise_days": os.environ.get("BUDGET_RISE_DAYS", "3"),
        "rise_step": os.environ.get("BUDGET_RISE_STEP", "0.10"),
        "forecast_days": os.environ.get("BUDGET_FORECAST_DAYS", "7"),
    }


def hub_monthly_budget_usd() -> str:
    return _required("HUB_MONTHLY_BUDGET_USD")


def metering_period_seconds() -> int:
    """Windows are cut on multiples of this (CloudWatch keeps 5-minute data for 63 days)."""
    return int(os.environ.get("METERING_PERIOD_SECONDS", "300"))


def metering_lag_seconds() -> int:
    """How far behind `as_of` a window ends: Bedrock's datapoints arrive in CloudWatch late, and a
    closed window is never read again."""
    return int(os.environ.get("METERING_LAG_SECONDS", "300"))


def budget_batch_size() -> int:
    return int(os.environ.get("BUDGET_BATCH_SIZE", "100"))


def undelivered_queue_url() -> str:
    return _required("UNDELIVERED_QUEUE_URL")


def credentials_url() -> str:
    """The tenant credential broker's function URL (set on the step that records it for the tenant)."""
    return _required("CREDENTIALS_URL")


def retirement_state_machine_arn() -> str:
    """The retirement workflow the decision door starts (hubctl retire)."""
    return _required("RETIREMENT_STATE_MACHINE_ARN")


# --- audit anchoring (genai_hub.digests) -------------------------------------------------------

def audit_digest_bucket() -> str:
    """The Object Lock bucket of the signed digests (digests/) and the daily exports (exports/audit/)."""
    return _required("AUDIT_DIGEST_BUCKET")


def audit_digest_key_arn() -> str:
    """The asymmetric KMS key that signs the digests (ECC_NIST_P256, SIGN_VERIFY)."""
    return _required("AUDIT_DIGEST_KEY_ARN")


def hub_account_id() -> str:
    return _required("HUB_ACCOUNT_ID")
