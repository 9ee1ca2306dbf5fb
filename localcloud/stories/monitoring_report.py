"""What a monitoring execution found, read back from where its job wrote it.

The monitoring pipeline's job writes its drift summary and constraint violations to the output
mounted at ``contract.Monitor.REPORT``; the execution record holds that output's S3 URI, resolved.
Stories read the verdict from there, so they see exactly what the deployed pipeline would report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud import s3_objects
from localcloud.sagemaker.executor.records import ExecutionRecord
from localcloud.stories import StoryError
from processing_scripts import contract, model_quality, s3_uri


@dataclass(frozen=True)
class MonitoringReport:
    uri: str  # the report output's S3 prefix
    summary: dict[str, Any]  # drift_summary.json; empty when the job wrote none
    violations: list[dict[str, Any]]  # constraint_violations.json's "violations"
    quality: dict[str, Any]  # model_quality/merge_summary.json; empty without ground truth

    @classmethod
    def read(cls, s3: Any, record: ExecutionRecord) -> MonitoringReport:
        uri = report_uri(record)
        summary = _optional_json(s3, s3_uri.join(uri, contract.DRIFT_SUMMARY_FILE)) or {}
        violations = _optional_json(s3, s3_uri.join(uri, contract.VIOLATIONS_FILE)) or {}
        quality_file = f"{model_quality.OUTPUT_FOLDER}/{model_quality.MERGE_SUMMARY_FILE}"
        quality = _optional_json(s3, s3_uri.join(uri, quality_file)) or {}
        return cls(uri, summary, violations.get("violations", []), quality)

    @property
    def verdict(self) -> str:
        return str(self.summary.get("verdict", "nothing_to_check"))

    def download(self, s3: Any, folder: Path) -> list[Path]:
        """Every file of the report, under ``folder`` (what a person opens: report.html, ...)."""
        prefix = self.uri.rstrip("/") + "/"
        return s3_objects.download(s3, prefix, s3_objects.list_objects(s3, prefix), folder)


def report_uri(record: ExecutionRecord) -> str:
    """The S3 URI the execution's monitoring job uploaded its report output to."""
    for step in record.steps.values():
        outputs = (step.properties.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for output in outputs:
            if output.get("S3Output", {}).get("LocalPath") == str(contract.Monitor.REPORT):
                return str(output["S3Output"]["S3Uri"])
    raise StoryError(
        f"{record.pipeline_name} {record.execution_id} has no step with an output at "
        f"{contract.Monitor.REPORT} (record: {record.record_file})"
    )


def _optional_json(s3: Any, uri: str) -> Any:
    return s3_objects.read_json(s3, uri) if s3_objects.exists(s3, uri) else None
