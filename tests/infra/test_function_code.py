"""The functions' code asset runs on its own: every handler imports from the bundle alone.

The handlers import a project helper (``processing_scripts.s3_uri``); in the repository that resolves
from the checkout, in Lambda only from what the asset carries. These tests open the synthesized
asset and import each handler in an interpreter that sees the asset and the installed packages
(boto3, as the Lambda runtime provides) but not this repository.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.functions import SHARED_MODULES, bundle_handlers
from infra.lambdas import HANDLERS
from tests.infra.conftest import Synthesized


def _function_assets(synthesized: Synthesized) -> dict[str, Path]:
    """Function name -> the asset directory its template points at."""
    assets = {}
    for _, _, resource in synthesized.all_resources():
        if resource["Type"] == "AWS::Lambda::Function":
            properties = resource["Properties"]
            asset_hash = properties["Code"]["S3Key"].removesuffix(".zip")
            assets[properties["FunctionName"]] = synthesized.outdir / f"asset.{asset_hash}"
    return assets


def _import_alone(asset: Path, module: str) -> subprocess.CompletedProcess[str]:
    """Import ``module`` with only ``asset`` added to an isolated interpreter's path (-I drops the
    working directory and PYTHONPATH, and the probe drops the editable install's finder that
    `make install` adds, so the checkout is not importable, as in the Lambda runtime)."""
    probe = (
        "import sys; sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in "
        "getattr(f, '__module__', '')]; "
        "sys.path.insert(0, sys.argv[1]); import importlib; "
        "handler = importlib.import_module(sys.argv[2]); "
        "assert callable(handler.lambda_handler); "
        "assert all(m.__file__.startswith(sys.argv[1]) for n, m in sys.modules.items() "
        "if n.split('.')[0] in ('processing_scripts', 'infra', 'pipelines'))"
    )
    return subprocess.run(
        [sys.executable, "-I", "-c", probe, str(asset), module],
        check=False,
        cwd=asset,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_function_ships_the_one_bundle(synthesized: Synthesized) -> None:
    assets = _function_assets(synthesized)
    assert set(assets) == {synthesized.settings.function_name(purpose) for purpose in HANDLERS}
    (asset,) = set(assets.values())
    shipped = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file())
    handlers = sorted(f"{module.rsplit('.', 1)[-1]}.py" for module in HANDLERS.values())
    assert shipped == sorted([*handlers, *SHARED_MODULES])


@pytest.mark.parametrize("module", sorted(m.rsplit(".", 1)[-1] for m in HANDLERS.values()))
def test_each_handler_imports_from_the_asset_alone(synthesized: Synthesized, module: str) -> None:
    (asset,) = set(_function_assets(synthesized).values())
    result = _import_alone(asset, module)
    assert result.returncode == 0, result.stderr


def test_a_bundle_without_the_shared_modules_would_not_import(tmp_path: Path) -> None:
    """The import probe above can fail: without the shared helper the deploy handler does not load."""
    bundle_handlers(tmp_path)
    for package in {relative.split("/")[0] for relative in SHARED_MODULES}:
        shutil.rmtree(tmp_path / package)
    result = _import_alone(tmp_path, "deploy")
    assert result.returncode != 0
    assert "No module named 'processing_scripts'" in result.stderr


def test_every_event_handler_runs_one_invocation_at_a_time(synthesized: Synthesized) -> None:
    """Reserved concurrency 1 serializes deliveries; the handlers are race-safe without it too
    (tests/localcloud/test_handler_concurrency.py), this is the second line of defence."""
    reserved = {
        resource["Properties"]["FunctionName"]: resource["Properties"].get("ReservedConcurrentExecutions")
        for _, _, resource in synthesized.all_resources()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert reserved == {synthesized.settings.function_name(purpose): 1 for purpose in HANDLERS}
