"""Errors a user can fix.

A ``UserError`` is bad input (params, paths, data, endpoints): the CLI prints its message
and exits with code 2, no traceback. Anything else is a bug or a failed run (exit code 1).
"""


class UserError(Exception):
    """A problem with what the user asked for, worded as problem + fix."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\n  fix: {fix}" if fix else problem)


class MissingInputError(UserError):
    """An upstream step's output is absent: run that step first."""


class DataValidationError(UserError):
    """A dataset failed its great-expectations suite."""

    def __init__(self, problem: str, fix: str | None = None, failures: list[dict] | None = None):
        self.failures = failures or []
        super().__init__(problem, fix)
