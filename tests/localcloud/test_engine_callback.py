"""Callback steps: the SDK's CallbackStep sends its token to SQS and waits for the CLI's answer."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from localcloud import ExecutionRecord, ExecutionStatus, LocalPipelineRunner
from localcloud.sagemaker.executor.steps.callback import PENDING_SUFFIX, CallbackRunner
from tests.pipelines.cli_runner import run as cli

FIXTURE = Path(__file__).parents[1] / "pipelines" / "fixtures" / "sdk2" / "services.json"


def _callback_pipeline(pipeline) -> dict[str, Any]:
    """The SDK's CallbackStep from the fixture, its argument made a literal (its Lambda step is
    the fixture's own function, which the local registry does not know)."""
    step = next(s for s in json.loads(FIXTURE.read_text())["Steps"] if s["Type"] == "Callback")
    step["Arguments"] = {"prefix": "s3://bucket/prefix", "threshold": 3}
    step["OutputParameters"].append({"OutputName": "score", "OutputType": "Float"})
    pipeline.add(step)
    pipeline.processing(
        "UseIt",
        "print(sys.argv[1:])",
        arguments=[pipeline.get("Steps.WaitForApproval.OutputParameters['score']")],
    )
    return step


class _Background:
    """A run in a thread, as ``run-local`` in one terminal while the test is the other terminal."""

    def __init__(self, runner: LocalPipelineRunner, definition: dict[str, Any]) -> None:
        self.record: ExecutionRecord | None = None
        self.thread = threading.Thread(target=self._run, args=(runner, definition), daemon=True)
        self.thread.start()

    def _run(self, runner: LocalPipelineRunner, definition: dict[str, Any]) -> None:
        self.record = runner.run(definition, pipeline_name="demo")

    def token(self, runs_dir: Path) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = next(iter(runs_dir.rglob(f"*{PENDING_SUFFIX}")), None)
            if found is not None:
                return found.name.removesuffix(PENDING_SUFFIX)
            time.sleep(0.05)
        raise AssertionError("the callback step never started waiting")

    def finished(self) -> ExecutionRecord:
        self.thread.join(timeout=30)
        assert self.record is not None
        return self.record


def test_the_message_reaches_sqs_and_the_cli_answer_completes_the_step(runner, pipeline, local_aws, capsys):
    _callback_pipeline(pipeline)
    background = _Background(runner, pipeline.definition())
    token = background.token(runner.runs_dir)

    sqs = local_aws.clients.client("sqs")
    queue = sqs.get_queue_url(QueueName="fixture-queue")["QueueUrl"]  # created by the step
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    body = json.loads(message["Body"])
    assert body == {
        "token": token,
        "pipelineExecutionArn": body["pipelineExecutionArn"],
        "arguments": {"prefix": "s3://bucket/prefix", "threshold": 3},
    }

    runs = ["--runs-dir", str(runner.runs_dir)]
    code, _, err = cli(capsys, "callback", "succeed", "not-a-token", *runs)
    assert code == 2 and "callback token 'not-a-token' is not 10 letters and digits" in err
    code, _, err = cli(capsys, "callback", "succeed", token, "-o", "score=high", *runs)
    assert code == 2 and "output score: Float expects a finite decimal number" in err
    code, _, err = cli(capsys, "callback", "succeed", token, "-o", "colour=red", *runs)
    assert code == 2 and "output colour is not declared by the step (declared: approved_uri, score)" in err
    code, out, _ = cli(
        capsys, "callback", "succeed", token, "-o", "approved_uri=s3://b/m", "-o", "score=2.5", *runs
    )
    assert code == 0 and "completed step WaitForApproval" in out

    record = background.finished()
    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    assert record.steps["WaitForApproval"].properties == {
        "OutputParameters": {"approved_uri": "s3://b/m", "score": 2.5}
    }
    assert "['2.5']" in (record.run_dir / record.steps["UseIt"].log_file).read_text()
    assert record.steps["WaitForApproval"].warnings == [  # how the run's terminal shows the token
        f"waiting for callback token {token}: answer with `python -m pipelines callback succeed {token} "
        f"[-o NAME=VALUE ...]` or `callback fail {token} --reason TEXT`"
    ]
    code, _, err = cli(capsys, "callback", "fail", token, "--reason", "late", *runs)
    assert code == 2 and f"no step under {runner.runs_dir} is waiting for callback token {token}" in err


def test_a_failure_answer_fails_the_step_with_its_reason(runner, pipeline, capsys):
    _callback_pipeline(pipeline)
    background = _Background(runner, pipeline.definition())
    token = background.token(runner.runs_dir)
    runs = ["--runs-dir", str(runner.runs_dir)]
    code, _, err = cli(capsys, "callback", "fail", token, "--reason", "x" * 257, *runs)
    assert code == 2 and "the failure reason is 257 characters; at most 256" in err
    assert cli(capsys, "callback", "fail", token, "--reason", "rejected by the reviewer", *runs)[0] == 0

    record = background.finished()
    assert record.status == ExecutionStatus.FAILED
    assert record.failure_reason == "step WaitForApproval failed: rejected by the reviewer"
    assert record.steps["UseIt"].status == "NotStarted"


def test_no_answer_within_the_timeout_fails_the_step(runner, pipeline):
    _callback_pipeline(pipeline)
    runner._runners["Callback"] = CallbackRunner(timeout_seconds=0.3, poll_seconds=0.05)
    record = runner.run(pipeline.definition(), pipeline_name="demo")
    assert record.status == ExecutionStatus.FAILED
    assert "no answer to callback token" in record.failure_reason and "within 0.3s" in record.failure_reason
    assert not list(runner.runs_dir.rglob(f"*{PENDING_SUFFIX}"))  # nothing left to answer


def test_ctrl_c_stops_the_wait_and_tells_the_queue(runner, pipeline, local_aws):
    _callback_pipeline(pipeline)

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    runner._runners["Callback"] = CallbackRunner(sleep=interrupt)
    with pytest.raises(KeyboardInterrupt):
        runner.run(pipeline.definition(), pipeline_name="demo")
    [record] = list(runner.runs_dir.glob("*/record.json"))
    assert json.loads(record.read_text())["status"] == "Stopped"
    assert not list(runner.runs_dir.rglob(f"*{PENDING_SUFFIX}"))
    sqs = local_aws.clients.client("sqs")
    queue = sqs.get_queue_url(QueueName="fixture-queue")["QueueUrl"]
    bodies = [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    ]
    assert [b.get("status") for b in bodies][-1] == "Stopping"
