"""One exception family: the library raises these, only ``sim.cli`` turns them into exit codes."""

import signal


class SimError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = 1


class InputError(SimError):
    """Bad input (file, scenario, lever, option): rejected before anything runs."""

    exit_code = 2


class ScenarioError(InputError):
    """A scenario file is malformed or does not fit the model.

    ``problems`` lists every problem found as ``(file, key, message)`` so that
    all of a file's errors are reported together.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(f"{f}: {k}: {m}" if k else f"{f}: {m}" for f, k, m in self.problems))


class ModelError(SimError):
    """The model file cannot be read, translated or compiled."""


class RunError(SimError):
    """A simulation failed (NaN, negative stock, solver error)."""


class ModelFileError(InputError, ModelError):
    """The model file given does not exist, is not a file or is not a Vensim model PySD can read: bad input
    (exit status 2), and a ModelError."""


class Interrupted(KeyboardInterrupt):
    """A command stopped by Ctrl-C (SIGINT) or SIGTERM; its text says how to continue.

    A :class:`KeyboardInterrupt`, so that it stops a command as Ctrl-C does;
    ``exit_code`` is 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self, message: str = "interrupted", signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
