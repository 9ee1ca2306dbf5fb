"""What validation reports: one :class:`Finding` per problem, and the error that refuses a definition."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

PIPELINE = "(pipeline)"  # the "step" of a finding about the definition as a whole


class Severity(StrEnum):
    """An error is something SageMaker (or a run) would reject; a warning is accepted but suspect."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: which step (or ``(pipeline)``), which field (a JSON path), what is wrong."""

    step: str
    field: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.step}: {self.field}: {self.message}"


class DefinitionError(ValueError):
    """The definition has errors; ``problems`` lists every one (one line each)."""

    def __init__(self, problems: Iterable[Finding | str]) -> None:
        self.problems = [str(problem) for problem in problems]
        super().__init__("; ".join(self.problems))
