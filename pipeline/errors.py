"""The pipeline's exceptions."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class RejectedInput(PipelineError):
    """An input file that cannot be ingested; ``reason`` says why, in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RulesError(PipelineError):
    """A rules or gazetteer data file is malformed."""
