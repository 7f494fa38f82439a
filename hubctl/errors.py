"""What hubctl tells a person when a command cannot do what was asked: a named error per kind of
failure, each with its exit code, printed by `hubctl.cli.main` as one line on stderr per problem."""

# Documented in `hubctl --help` (cli.EXIT_CODES) and docs/cli.md; scripts branch on them.
OK = 0
FAILED = 1          # the hub answered no: not found, a workflow failed or timed out, the audit trail altered
USAGE = 2           # a bad option or argument, a bad input file, a request the hub rejected
UNREACHABLE = 3     # no credentials, no stack, endpoint down, AWS refused the call
BUG = 4             # an error hubctl did not expect
INTERRUPTED = 130   # Ctrl-C, as shells report SIGINT


class HubctlError(Exception):
    """An error a person can act on. `problems`: more lines, each one problem (e.g. every schema error
    of a file); the message is the first line when there are none."""

    code = FAILED

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []

    def lines(self) -> list[str]:
        return self.problems or [str(self)]


class NotFound(HubctlError):
    """No such tenant, model, version, execution or audit stream."""


class WorkflowFailed(HubctlError):
    """A workflow hubctl started or answered ended FAILED, or was not done before --timeout."""


class UsageError(HubctlError):
    """A bad option, argument or input file: nothing was sent to the hub."""

    code = USAGE


class RequestRejected(HubctlError):
    """The hub checked a request and refused it; the message names the field. Nothing was changed."""

    code = USAGE


class HubUnreachable(HubctlError):
    """The hub cannot be asked: no credentials, no stack, an endpoint that does not answer, an AWS error."""

    code = UNREACHABLE
