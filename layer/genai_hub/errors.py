"""Named business errors. The state machines catch them by class name (the Lambda errorType)."""
import json


def caught(error: dict) -> tuple[str, str]:
    """(error name, message) from a Step Functions Catch output {Error, Cause}."""
    name = error.get("Error", "States.Runtime")
    cause = error.get("Cause") or ""
    try:
        message = json.loads(cause).get("errorMessage", cause)
    except (ValueError, AttributeError):
        message = cause
    return name, str(message)[:1000]


def rejected_field(message: str) -> str:
    """The JSON path an InvalidInput message starts with ("$.field: ..."), or "$" for the whole input."""
    return message.split(":", 1)[0] if message.startswith("$") else "$"


class HubError(Exception):
    """Base of every business error: its message is meant for a person and goes to the audit trail."""


class InvalidInput(HubError):
    """An event or request does not match its schema; the message names the field."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class NoProfileForResidency(HubError):
    """No cross-Region inference profile serves a model within the tenant's data residency."""


class ResidencyViolation(HubError):
    """A profile outside the tenant's data residency was about to be used (defence in depth)."""


class TenantNotFound(HubError):
    """The registry holds no tenant with that id."""


class AuditChainContention(HubError):
    """The audit chain head kept moving under concurrent writers; the append was not written."""


class ArtifactMissing(HubError):
    """A file the import needs is not in the drop (config.json, tokenizer files, weights)."""


class UnsupportedArchitecture(HubError):
    """config.json names an architecture Bedrock Custom Model Import does not support."""


class CorruptSafetensors(HubError):
    """A .safetensors file's header does not parse."""


class ArtifactsTooLarge(HubError):
    """The drop is larger than Bedrock accepts."""


class PolicyDeniesImportRole(HubError):
    """The research bucket or key policy does not grant the import role what Bedrock needs."""


class ImportJobFailed(HubError):
    """Bedrock ended the import job as Failed."""


class ImportDeadlineExceeded(HubError):
    """The import job did not finish before the deadline."""


class VersionNotReady(HubError):
    """The version is not in the state this step expects (e.g. a duplicate ModelImported)."""


class ModelThrottled(HubError):
    """Bedrock throttled an evaluation call; the state machine retries it with backoff."""


class ModelNotReady(HubError):
    """The imported model is being loaded again after idling (ModelNotReadyException): retried with backoff."""


class PolicyNotFound(HubError):
    """No evaluation policy of that name in data/evaluation_policies/."""


class RetirementNotConfirmed(HubError):
    """A retirement that needed a second person's confirmation reached its date without one."""


class RetirementConflict(HubError):
    """The version cannot be retired in its current state (being imported or evaluated, import failed)."""


class AlreadyRetired(HubError):
    """The version is retired already for this scope: a repeated request changes nothing."""


class RetirementInProgress(HubError):
    """Another execution is retiring the same version for the same scope."""


class ModelRetiring(HubError):
    """A model version is retiring or retired for this tenant: it cannot be granted again."""


class PriceMissing(HubError):
    """The price table has no unit price for a model a tenant used (layer/genai_hub/data/prices.json)."""


class BudgetChangeSuperseded(HubError):
    """A budget level change was applied or replaced by another run: nothing left to do."""
