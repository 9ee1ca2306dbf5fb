"""Helpers for running the container scripts the way a job does: under an ``OPT_ML_DIR`` sandbox.

The abalone data is preprocessed once per session (in process, a fraction of a second) and a small
XGBoost model is trained on it with the real library, so the evaluation and inference tests score a
genuine model on genuine splits.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from processing_scripts import contract, job, preprocess

REPO_ROOT = Path(__file__).resolve().parents[2]
ABALONE = REPO_ROOT / "data" / "abalone.csv"


def sandbox_path(opt_ml: Path, container_path: str) -> Path:
    """Where ``container_path`` (under /opt/ml) lives inside the sandbox ``opt_ml``."""
    return opt_ml / Path(container_path).relative_to(contract.OPT_ML)


def output_files(opt_ml: Path) -> list[Path]:
    """Every file a job published under processing/output (hidden temporary files included)."""
    root = opt_ml / "processing" / "output"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def exit_message(opt_ml: Path) -> str:
    return sandbox_path(opt_ml, contract.ProcessingJob.EXIT_MESSAGE).read_text(encoding="utf-8")


def run_in_process(opt_ml: Path, main: Callable[[Sequence[str] | None], None], *args: str) -> int:
    """``job.run(main, args)`` with ``OPT_ML_DIR`` pointing at ``opt_ml`` (fast; no interpreter start)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(contract.BASE_DIR_ENV, str(opt_ml))
        return job.run(main, list(args))


def run_as_user(opt_ml: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m processing_scripts.<module> ...`` in a fresh interpreter, as a job or a person runs it."""
    env = {**os.environ, contract.BASE_DIR_ENV: str(opt_ml), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", f"processing_scripts.{module}", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def place_raw(opt_ml: Path, files: dict[str, str | bytes]) -> Path:
    """Write raw input files (relative name -> content) where preprocessing reads them."""
    raw = sandbox_path(opt_ml, contract.Preprocess.RAW)
    raw.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = raw / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return raw


def read_split(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def train_booster(train: np.ndarray, objective: str = "reg:squarederror", rounds: int = 25) -> xgb.Booster:
    """A real model on a label-first matrix, as the built-in algorithm trains one from the CSV."""
    params = {"objective": objective, "max_depth": 4, "eta": 0.3, "seed": 0, "nthread": 1}
    return xgb.train(params, xgb.DMatrix(train[:, 1:], label=train[:, 0]), rounds)


def package_model(model_file: bytes, directory: Path, member: str = contract.Training.MODEL_FILE) -> Path:
    """``model.tar.gz`` holding ``model_file`` as ``member``, as a training job leaves it."""
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(model_file)
        tar.addfile(info, io.BytesIO(model_file))
    return archive


@pytest.fixture(scope="session")
def abalone_splits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OPT_ML_DIR in which preprocessing has run on the real abalone data (read-only for tests)."""
    opt_ml = tmp_path_factory.mktemp("abalone-preprocessed")
    place_raw(opt_ml, {"abalone.csv": ABALONE.read_bytes()})
    assert run_in_process(opt_ml, preprocess.main) == 0
    return opt_ml


def split_file(opt_ml: Path, split: str, host: str = job.DEFAULT_HOST) -> Path:
    return sandbox_path(opt_ml, preprocess.SPLIT_DIRS[split]) / f"part-{host}.csv"


@pytest.fixture(scope="session")
def regression_model(abalone_splits: Path) -> xgb.Booster:
    return train_booster(read_split(split_file(abalone_splits, "train")))


def stage_evaluation(
    opt_ml: Path, splits: Path, model_file: bytes, test: np.ndarray | None = None, *, archived: bool = False
) -> None:
    """Lay out an evaluation job's inputs: the model archive (``model_file`` packed, or already
    ``model.tar.gz`` bytes when ``archived``), the test split and schema.json."""
    if archived:
        folder = sandbox_path(opt_ml, contract.Evaluate.MODEL)
        folder.mkdir(parents=True)
        (folder / contract.Training.MODEL_ARCHIVE).write_bytes(model_file)
    else:
        package_model(model_file, sandbox_path(opt_ml, contract.Evaluate.MODEL))
    test_dir = sandbox_path(opt_ml, contract.Evaluate.TEST)
    test_dir.mkdir(parents=True)
    if test is None:
        shutil.copy(split_file(splits, "test"), test_dir)
    else:
        np.savetxt(test_dir / "part-algo-1.csv", test, delimiter=",", fmt="%.10g")
    schema_dir = sandbox_path(opt_ml, contract.Evaluate.SCHEMA)
    schema_dir.mkdir(parents=True)
    shutil.copy(
        sandbox_path(splits, contract.Preprocess.SCHEMA) / contract.Preprocess.SCHEMA_FILE, schema_dir
    )


@dataclass(frozen=True)
class TrainedModel:
    """A model trained the way the example's pipeline trains it: the archive a training job leaves,
    and, for a script-mode model, its code archive and the module that serves it."""

    archive: Path
    code: bytes | None = None
    program: str = ""

    def evaluate_arguments(self) -> list[str]:
        return ["--program", self.program] if self.code is not None else []

    def stage_code(self, opt_ml: Path) -> None:
        """The evaluation job's ``code`` input (a script model is scored through its own hooks)."""
        if self.code is not None:
            folder = sandbox_path(opt_ml, contract.Evaluate.CODE)
            folder.mkdir(parents=True)
            (folder / "sourcedir.tar.gz").write_bytes(self.code)

    def serve(self, workdir: Path) -> Callable[[bytes], np.ndarray]:
        """The endpoint's answer to a CSV body, as numbers, through the same code the endpoint runs."""
        from processing_scripts import inference, script_model

        model_dir = workdir / "served-model"
        model_dir.mkdir(parents=True)
        with tarfile.open(self.archive) as tar:
            tar.extractall(model_dir, filter="data")
        if self.code is None:
            booster = inference.load_model(model_dir)
            return lambda body: np.array(inference.predict_csv(booster, body).split(), dtype=float)
        code_dir = workdir / "served-code"
        code_dir.mkdir()
        with tarfile.open(fileobj=io.BytesIO(self.code)) as tar:
            tar.extractall(code_dir, filter="data")
        handle = script_model.serve(script_model.import_program(code_dir, self.program), model_dir)
        return lambda body: script_model.predictions_from_csv(
            handle(body, "text/csv", "text/csv"), len(body.decode().splitlines())
        )


def train_like_the_pipeline(settings: Any, splits: Path, workdir: Path, rounds: int = 40) -> TrainedModel:
    """Train on a preprocessed ``splits`` sandbox as ``settings``' pipeline would: the built-in
    XGBoost with the example's objective, or the example's own script run as the SageMaker training
    toolkit runs it (``SM_CHANNEL_*``, ``SM_MODEL_DIR``, hyperparameters as ``--name value``)."""
    from pipelines.model_code import pack

    script = settings.training.script
    if script is None:
        booster = train_booster(
            read_split(split_file(splits, "train")),
            objective=settings.training.hyperparameters["objective"],
            rounds=rounds,
        )
        return TrainedModel(package_model(bytes(booster.save_raw("ubj")), workdir / "model"))
    model_dir = workdir / "model-dir"
    model_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "SM_CHANNEL_TRAIN": str(split_file(splits, "train").parent),
        "SM_CHANNEL_VALIDATION": str(split_file(splits, "validation").parent),
        "SM_MODEL_DIR": str(model_dir),
    }
    arguments = [item for name, value in script.hyperparameters.items() for item in (f"--{name}", value)]
    result = subprocess.run(
        [sys.executable, script.entry_point, *arguments],
        cwd=script.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    archive = workdir / "model" / contract.Training.MODEL_ARCHIVE
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        for file in sorted(model_dir.iterdir()):
            tar.add(file, arcname=file.name)
    return TrainedModel(archive, pack(script.path), script.serving_program)
