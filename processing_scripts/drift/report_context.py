"""What the caller of a check knows about it, for the top of ``report.html``.

A report is opened days later from an S3 download or an e-mail: without the endpoint, the baseline
it was compared with, the run that made it and the alarm threshold, the verdict cannot be acted on.
Only the caller knows these (the monitoring job, the CLI), so it passes them in; anything it does
not know stays None and is simply not shown. Kept apart from ``report`` so building one does not
import matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReportContext:
    endpoint: str | None = None
    data: str | None = None  # where the current data was read from
    baseline: str | None = None  # the baseline's folder or statistics URI
    model_package: str | None = None  # the model package whose baseline it is
    execution: str | None = None  # the pipeline execution or job that ran the check
    share_threshold: float | None = None  # the retrain alarm's threshold on the drifted-feature share
    created: datetime | None = None

    def facts(self) -> list[tuple[str, str]]:
        """(label, value) for every field the caller gave, in reading order."""
        rows = [
            ("endpoint", self.endpoint),
            ("current data", self.data),
            ("baseline", self.baseline),
            ("model package", self.model_package),
            ("execution", self.execution),
            ("created", None if self.created is None else f"{self.created:%Y-%m-%d %H:%M:%S} UTC"),
        ]
        return [(label, value) for label, value in rows if value]


def share_verdict(share: float, threshold: float) -> str:
    """The drifted-feature share against the retrain alarm's threshold, in words. The alarm compares
    with GreaterThanThreshold (infra/alarms.py), so a share equal to the threshold does not fire it."""
    if share > threshold:
        return "the retrain alarm would fire"
    return "below the retrain alarm"
