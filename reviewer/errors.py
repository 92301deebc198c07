"""Errors a user can act on. The CLI prints their message (never a traceback) and exits 2."""


class ReviewerError(Exception):
    """Base class: the message is shown to the user as-is, so it must not contain draft text."""


class InputError(ReviewerError):
    """The draft or input file cannot be reviewed (empty, binary, too large, bad UTF-8...)."""


class DataError(ReviewerError):
    """A shipped data file (guidance corpus, rule pack, prompt, index) is missing or corrupt."""


class RuleError(DataError):
    """A rule pack is invalid: unknown keys, missing examples, a non-linear-time pattern..."""


class EngineUnavailable(ReviewerError):
    """An optional engine (semantic, model) cannot run; the review falls back to rules."""
