"""Every SDK-built fixture's pre-flight says what docs/local-execution.md's table says ("What runs,
what is stubbed and why"): which steps cannot run here and the option that gets each past it.

Pre-flight only (nothing runs, no emulator starts), so each case takes well under a second. A
fixture with no blocked step runs once its data is seeded; the end-to-end runs are in
``test_run_local_byop.py`` and ``tests/localcloud/test_byop_jobs.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud import DefinitionError, LocalCloud
from pipelines import settings as settings_module

SETTINGS = settings_module.load("dev")
FIXTURES = Path(__file__).parent / "fixtures"
STUB, LAMBDA = "--stub", "--lambda"

# fixture -> {blocked step: the option the pre-flight names for it}; {} runs once seeded.
EXPECTED: dict[str, dict[str, str]] = {
    "sdk2/abalone": {"EvaluateAbaloneModel": STUB},  # its script is inside the example's image
    "sdk2/automl": {"AutoMLTraining": STUB, "PublishReports": LAMBDA},
    "sdk2/byop_jobs": {},
    "sdk2/checks": {"ModelExplainabilityCheck": STUB, "RecordBaselines": LAMBDA},
    "sdk2/endpoints": {
        "CreateEndpointConfig": STUB,
        "CreateEndpoint": STUB,
        "CreateInferenceComponent": STUB,
    },
    "sdk2/function_steps": {"Preprocess": STUB, "Evaluate": STUB},
    "sdk2/lineage": {"RecordLineage": STUB, "AnnounceModel": LAMBDA},
    "sdk2/notebook_job": {"RunReport": STUB},
    "sdk2/services": {"PrepareData": LAMBDA, "SparkOnCluster": STUB},
    "sdk2/tuning": {},
    "sdk3/abalone": {"TrainAbaloneModel": STUB, "EvaluateAbaloneModel": STUB},
    "sdk3/checks": {"ModelExplainabilityCheck": STUB, "RecordBaselines": LAMBDA},
    "sdk3/cleanup": {"Prepare": STUB, "Train": STUB, "NotifyTrainingFailed": STUB, "DeleteScratch": STUB},
    "sdk3/endpoints": {
        "CreateEndpointConfig": STUB,
        "CreateEndpoint": STUB,
        "CreateInferenceComponent": STUB,
    },
    "sdk3/for_each": {"PerRegion": STUB, "PrepareRegion": STUB, "ScoreRegion": LAMBDA, "Report": LAMBDA},
    "sdk3/function_steps": {"Preprocess": STUB, "Evaluate": STUB},
    "sdk3/lineage": {"RecordLineage": STUB, "AnnounceModel": LAMBDA},
    "sdk3/notebook_job": {"RunReport": STUB},
    "sdk3/services": {"PrepareData": LAMBDA, "SparkOnCluster": STUB, "SparkServerless": STUB},
    "sdk3/tuning": {"TuneAbalone": STUB},
}


def _preflight(fixture: str) -> list[str]:
    name = fixture.replace("/", "-")
    definition = json.loads((FIXTURES / f"{fixture}.json").read_text())
    try:
        LocalCloud(SETTINGS, {name: definition}).prepare(name)
    except DefinitionError as err:
        return err.problems
    return []


def test_the_table_covers_every_sdk_built_fixture():
    on_disk = {
        f"{p.parent.name}/{p.stem}" for sdk in ("sdk2", "sdk3") for p in (FIXTURES / sdk).glob("*.json")
    }
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_the_preflight_names_each_blocked_step_with_the_option_that_gets_past_it(fixture):
    problems = _preflight(fixture)

    named = {problem.split(":", 1)[0]: problem for problem in problems}
    assert set(named) == set(EXPECTED[fixture]), problems
    assert len(problems) == len(named)  # one line per step
    for step, option in EXPECTED[fixture].items():
        assert f"; pass {option} " in named[step], named[step]
