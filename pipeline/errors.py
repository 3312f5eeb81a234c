"""The pipeline's exceptions."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class RejectedInput(PipelineError):
    """An input file that cannot be ingested; ``reason`` says why, in words a user can act on.

    ``kind`` is the ``rejects.kind`` it is recorded under."""

    kind = "input"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OverBudget(RejectedInput):
    """One article took more time than an article may (on a busier machine: the next run tries again)."""

    kind = "budget"


class TooLarge(RejectedInput):
    """A file over the size limit: a fact about the file and the run's options, so it stays rejected
    while neither changes (kind ``input``)."""


class UnreadableInput(RejectedInput):
    """A file or folder that is there but could not be read (permissions, I/O errors): its old rows are kept."""

    kind = "unreadable"


class ReportError(PipelineError):
    """A report notebook failed; the message names the notebook and the cell, and the traceback beneath
    (the cell's own) is written to the run's log folder."""


class RulesError(PipelineError):
    """A rules or gazetteer data file is malformed."""
