"""An example is one folder, ``examples/<name>/``: ``example.toml`` plus its data or the generator of
its data. This module reads and validates the description; everything else (settings, the jobs,
the local traffic, the demo, the tests) asks it.

Why here, in ``processing_scripts``: the jobs (preprocess, evaluate, baseline, monitor) run in the
project's image and need the dataset description, and ``processing_scripts`` may import nothing of
the rest of the project; settings read the same loader, so the two can never disagree. The image
carries every ``examples/*/example.toml`` (``IMAGE_INPUTS`` in settings, the Dockerfile), and a job
learns which one is its own from ``MLOPS_EXAMPLE`` in its environment, which synthesis declares for
any example but the default (so the default example's pipeline definitions are unchanged). Not the
description as a job argument: SageMaker's ContainerArguments items are at most 256 characters.

Selection: ``MLOPS_EXAMPLE`` (the CLI's ``--example`` and ``make demo EXAMPLE=...`` set it), default
:data:`DEFAULT_EXAMPLE`; ``MLOPS_EXAMPLES_DIR`` points at another folder of examples (a team's own,
kept outside this checkout). Every mistake in a description is one line naming the file, the key
and, for a misspelt name, the closest valid one. The format is described in docs/your-own-data.md.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib.util
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processing_scripts import quality_gate

EXAMPLE_ENV = "MLOPS_EXAMPLE"
EXAMPLES_DIR_ENV = "MLOPS_EXAMPLES_DIR"
DEFAULT_EXAMPLE = "abalone"
DESCRIPTION_FILE = "example.toml"
# In the checkout: <repo>/examples; in the image: /opt/program/examples (next to processing_scripts).
DEFAULT_EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

CATEGORY, FLOAT, INT = "category", "float", "int"
COLUMN_TYPES = (CATEGORY, FLOAT, INT)
REGRESSION, BINARY_CLASSIFICATION = "regression", "binary_classification"
PROBLEM_TYPES = (REGRESSION, BINARY_CLASSIFICATION)
# The built-in XGBoost objectives each problem type can train with.
OBJECTIVE_PREFIXES = {REGRESSION: "reg:", BINARY_CLASSIFICATION: "binary:"}
MODEL_FRAMEWORKS = ("xgboost",)
TUNING_OBJECTIVE_TYPES = ("Minimize", "Maximize")
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html: lowercase letters,
# digits, hyphens (and dots, which break virtual-hosted TLS, so not here).
_NAME = re.compile(r"[a-z][a-z0-9-]{0,29}")


class ExampleError(ValueError):
    """An example cannot be found or its description is wrong; the message says where and how to fix it."""


@dataclass(frozen=True)
class DatasetSpec:
    """The raw data's columns (file order, each with its type), the target and the problem type."""

    raw_columns: dict[str, str]
    target: str
    problem_type: str
    categories: dict[str, tuple[str, ...]]

    @property
    def numeric_features(self) -> list[str]:
        return [c for c, kind in self.raw_columns.items() if c != self.target and kind != CATEGORY]

    def one_hot_columns(self) -> dict[str, dict[str, str]]:
        """Each categorical column's model inputs after one-hot encoding, value -> column name, so a
        report can show the 0/1 columns of ``sex`` as the one feature they encode."""
        return {col: {value: f"{col}_{value}" for value in values} for col, values in self.categories.items()}

    def feature_names(self) -> list[str]:
        """Model input columns after preprocessing (numeric columns, then one-hot columns)."""
        one_hot = [column for columns in self.one_hot_columns().values() for column in columns.values()]
        return self.numeric_features + one_hot


@dataclass(frozen=True)
class CategoryShift:
    """Drift of a categorical column: ``share`` of the rows whose value is ``source`` get ``to``."""

    column: str
    source: str
    to: str
    share: float


@dataclass(frozen=True)
class DriftSpec:
    """What the local traffic generator changes for "drifted" traffic: numeric columns multiplied by
    ``1 + weight * strength`` (``scale``: column -> weight) and categorical values moved."""

    scale: dict[str, float]
    shifts: tuple[CategoryShift, ...]


@dataclass(frozen=True)
class ModelSpec:
    """The model choice: the built-in XGBoost (``framework = "xgboost"``) and its hyperparameters,
    or, with a ``[model.script]`` table, the example's own script-mode model (``script``: that
    table, checked by the settings' ``ScriptModel``; its ``source_dir`` is relative to the example's
    folder). The containers never train, so they read no more of it than this."""

    framework: str
    hyperparameters: dict[str, str]
    tuning_objective: str
    tuning_objective_type: str
    script: dict[str, Any] | None = None


@dataclass(frozen=True)
class GateSpec:
    """The quality gate: register only if the metric at ``metric_path`` passes ``threshold``."""

    metric_path: str
    comparison: str
    threshold: float

    @property
    def higher_is_better(self) -> bool:
        return self.comparison.startswith("Greater")


@dataclass(frozen=True)
class Example:
    name: str
    folder: Path
    dataset: DatasetSpec
    drift: DriftSpec
    model: ModelSpec
    gate: GateSpec
    data_file_name: str  # the CSV in the folder (or where the generator's output is named after)
    generator: str | None  # a Python file in the folder with ``generate(rows, seed) -> DataFrame``
    generator_rows: int
    generator_seed: int

    @property
    def project(self) -> str:
        """The project name every resource name starts with (``abalone-mlops``)."""
        return f"{self.name}-mlops"

    def data_file(self, cache_dir: Path | None = None) -> Path:
        """The example's raw CSV: the file in the folder when there is one (real data a user brought),
        else the generator's output, written once per generator content into ``cache_dir``."""
        path = (self.folder / self.data_file_name).resolve()
        if path.is_file():
            return path
        if self.generator is None:
            raise ExampleError(
                f"{self.folder / DESCRIPTION_FILE}: the data file {path} does not exist and no generator is named; "
                "put the CSV there or set [dataset] generator"
            )
        source = self.folder / self.generator
        digest = hashlib.sha256(
            source.read_bytes() + f"\0{self.generator_rows}\0{self.generator_seed}".encode()
        ).hexdigest()[:16]
        target = (cache_dir or Path(tempfile.gettempdir()) / "mlops-examples") / f"{self.name}-{digest}.csv"
        if not target.is_file():
            frame = _generator(source).generate(self.generator_rows, self.generator_seed)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(f".{os.getpid()}.partial")
            frame.to_csv(partial, index=False)
            partial.replace(target)  # atomic: a concurrent reader never sees half a file
        return target


def selected_name() -> str:
    """The example this process works on: ``MLOPS_EXAMPLE``, else :data:`DEFAULT_EXAMPLE`."""
    return os.environ.get(EXAMPLE_ENV, "").strip() or DEFAULT_EXAMPLE


def examples_dir() -> Path:
    override = os.environ.get(EXAMPLES_DIR_ENV, "").strip()
    return Path(override) if override else DEFAULT_EXAMPLES_DIR


def available(directory: Path | None = None) -> list[str]:
    """The examples in ``directory`` (default :func:`examples_dir`): folders with an example.toml."""
    root = directory or examples_dir()
    return sorted(p.parent.name for p in root.glob(f"*/{DESCRIPTION_FILE}"))


def selected() -> Example:
    """The selected example (:func:`selected_name`) from :func:`examples_dir`."""
    return load(selected_name(), examples_dir())


@functools.cache
def load(name: str, directory: Path = DEFAULT_EXAMPLES_DIR) -> Example:
    """Read and validate ``<directory>/<name>/example.toml``."""
    path = directory / name / DESCRIPTION_FILE
    if not _NAME.fullmatch(name):
        raise ExampleError(
            f"example name {name!r} must be lowercase letters, digits and hyphens, starting with a letter: "
            "it starts every AWS resource name, and S3 bucket names allow nothing else; rename its folder"
        )
    if not path.is_file():
        known = available(directory)
        raise ExampleError(
            f"unknown example {name!r}{_closest(name, known)}: no {path}; "
            f"choose one of {', '.join(known) or '(none)'} or create that folder (docs/your-own-data.md)"
        )
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ExampleError(f"{path}: not valid TOML ({err})") from err
    return _Parser(path).example(name, doc)


class _Parser:
    """Validation of one description; every error starts with the file's path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, message: str) -> ExampleError:
        return ExampleError(f"{self.path}: {message}")

    def table(
        self, doc: Mapping[str, Any], key: str, allowed: Iterable[str], where: str = ""
    ) -> dict[str, Any]:
        value = doc.get(key)
        name = f"{where}{key}"
        if not isinstance(value, dict):
            raise self.fail(f"[{name}] is missing or not a table")
        self.known_keys(value, allowed, name)
        return value

    def known_keys(self, table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        allowed = list(allowed)
        for key in table:
            if key not in allowed:
                raise self.fail(
                    f"[{where}] has unknown key {key!r}{_closest(key, allowed)}; allowed: {', '.join(allowed)}"
                )

    def choice(self, value: object, allowed: tuple[str, ...], what: str) -> str:
        if value not in allowed:
            raise self.fail(
                f"{what} {value!r} is not one of {', '.join(allowed)}{_closest(str(value), allowed)}"
            )
        return str(value)

    def example(self, name: str, doc: dict[str, Any]) -> Example:
        self.known_keys(doc, ("dataset", "drift", "model", "gate"), "top level")
        spec = self.table(
            doc,
            "dataset",
            ("file", "generator", "rows", "seed", "target", "problem_type", "columns", "categories"),
        )
        dataset = self.dataset(spec)
        generator = spec.get("generator")
        if generator is not None and not (self.path.parent / str(generator)).is_file():
            raise self.fail(f"[dataset] generator {generator!r} is not a file in {self.path.parent}")
        file = spec.get("file")
        if not isinstance(file, str) or not file:
            raise self.fail("[dataset] file must name the CSV (relative to the example's folder)")
        return Example(
            name=name,
            folder=self.path.parent,
            dataset=dataset,
            drift=self.drift(self.table(doc, "drift", ("scale", "shift")), dataset),
            model=self.model(doc, dataset),
            gate=self.gate(self.table(doc, "gate", ("metric_path", "comparison", "threshold")), dataset),
            data_file_name=file,
            generator=None if generator is None else str(generator),
            generator_rows=self.integer(spec.get("rows", 5000), "[dataset] rows"),
            generator_seed=self.integer(spec.get("seed", 0), "[dataset] seed"),
        )

    def integer(self, value: object, what: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{what} must be a whole number >= 0, not {value!r}")
        return value

    def dataset(self, spec: dict[str, Any]) -> DatasetSpec:
        columns = spec.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise self.fail(
                '[dataset.columns] must list the columns in file order, name = "float" | "int" | "category"'
            )
        raw_columns = {
            str(column): self.choice(kind, COLUMN_TYPES, f"[dataset.columns] {column!r}: type")
            for column, kind in columns.items()
        }
        target = spec.get("target")
        if target not in raw_columns:
            raise self.fail(
                f"[dataset] target {target!r} is not a column{_closest(str(target), raw_columns)}; "
                f"columns: {', '.join(raw_columns)}"
            )
        if raw_columns[target] == CATEGORY:
            raise self.fail(
                f"[dataset] target {target!r} must be int or float (binary classification: 0/1 int)"
            )
        problem_type = self.choice(spec.get("problem_type"), PROBLEM_TYPES, "[dataset] problem_type")
        categories = spec.get("categories", {})
        if not isinstance(categories, dict):
            raise self.fail("[dataset.categories] must be a table: column = [values...]")
        for column in categories:
            if raw_columns.get(column) != CATEGORY:
                raise self.fail(
                    f"[dataset.categories] {column!r} is not a category column"
                    f"{_closest(column, [c for c, k in raw_columns.items() if k == CATEGORY])}; "
                    f'declare it {column!r} = "category" in [dataset.columns] or remove its values'
                )
        parsed: dict[str, tuple[str, ...]] = {}
        for column, kind in raw_columns.items():
            if kind != CATEGORY:
                continue
            values = categories.get(column)
            if (
                not isinstance(values, list)
                or not values
                or not all(isinstance(v, str | int) for v in values)
            ):
                raise self.fail(
                    f'[dataset.categories] {column!r} needs its allowed values, e.g. {column!r} = ["a", "b"]'
                )
            parsed[column] = tuple(str(v) for v in values)
            if len(set(parsed[column])) != len(values):
                raise self.fail(f"[dataset.categories] {column!r} lists a value twice")
        return DatasetSpec(raw_columns, str(target), problem_type, parsed)

    def drift(self, spec: dict[str, Any], dataset: DatasetSpec) -> DriftSpec:
        scale = spec.get("scale", {})
        if not isinstance(scale, dict):
            raise self.fail(
                "[drift.scale] must be a table: numeric column = weight (x (1 + weight * strength))"
            )
        for column, weight in scale.items():
            if column not in dataset.numeric_features:
                raise self.fail(
                    f"[drift.scale] {column!r} is not a numeric feature{_closest(str(column), dataset.numeric_features)}"
                )
            if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
                raise self.fail(f"[drift.scale] {column!r}: the weight must be a number > 0, not {weight!r}")
        shifts = []
        for shift in spec.get("shift", []):
            if not isinstance(shift, dict):
                raise self.fail("[[drift.shift]] entries are tables: column, from, to, share")
            self.known_keys(shift, ("column", "from", "to", "share"), "drift.shift")
            column = shift.get("column")
            if column not in dataset.categories:
                raise self.fail(
                    f"[[drift.shift]] column {column!r} is not a category column{_closest(str(column), dataset.categories)}"
                )
            allowed = dataset.categories[column]
            source, to = str(shift.get("from")), str(shift.get("to"))
            for value in (source, to):
                if value not in allowed:
                    raise self.fail(
                        f"[[drift.shift]] {column!r}: {value!r} is not one of its categories {', '.join(allowed)}"
                    )
            share = shift.get("share", 1.0)
            if not isinstance(share, int | float) or not 0 < share <= 1:
                raise self.fail(f"[[drift.shift]] {column!r}: share must be in (0, 1], not {share!r}")
            shifts.append(CategoryShift(str(column), source, to, float(share)))
        if not scale and not shifts:
            raise self.fail(
                "[drift] needs scale and/or shift: the local demo must be able to drift something"
            )
        return DriftSpec({str(c): float(w) for c, w in scale.items()}, tuple(shifts))

    def model(self, doc: dict[str, Any], dataset: DatasetSpec) -> ModelSpec:
        raw = doc.get("model")
        if not isinstance(raw, dict):
            raise self.fail("[model] is missing or not a table")
        script = raw.get("script")
        if script is not None:
            if not isinstance(script, dict):
                raise self.fail("[model.script] must be a table (framework, source_dir, entry_point, ...)")
            hyperparameters = raw.get("hyperparameters", {})
            if not isinstance(hyperparameters, dict):
                raise self.fail("[model.hyperparameters] must be a table")
            return ModelSpec(
                framework=str(script.get("framework", "sklearn")),
                hyperparameters={str(k): _text(v) for k, v in hyperparameters.items()},
                tuning_objective="",
                tuning_objective_type="Minimize",
                script=script,
            )
        framework = self.choice(raw.get("framework", "xgboost"), MODEL_FRAMEWORKS, "[model] framework")
        hyperparameters = raw.get("hyperparameters")
        if not isinstance(hyperparameters, dict) or "objective" not in hyperparameters:
            raise self.fail("[model.hyperparameters] must be a table with at least objective")
        objective = str(hyperparameters["objective"])
        prefix = OBJECTIVE_PREFIXES[dataset.problem_type]
        if not objective.startswith(prefix):
            raise self.fail(
                f"[model.hyperparameters] objective {objective!r} does not fit {dataset.problem_type}: use a {prefix}* objective"
            )
        metric = str(hyperparameters.get("eval_metric", ""))
        tuning_objective = str(raw.get("tuning_objective", f"validation:{metric}" if metric else ""))
        if not tuning_objective:
            raise self.fail("[model] needs tuning_objective (or eval_metric in [model.hyperparameters])")
        return ModelSpec(
            framework=framework,
            hyperparameters={str(k): _text(v) for k, v in hyperparameters.items()},
            tuning_objective=tuning_objective,
            tuning_objective_type=self.choice(
                raw.get("tuning_objective_type", "Minimize"),
                TUNING_OBJECTIVE_TYPES,
                "[model] tuning_objective_type",
            ),
        )

    def gate(self, spec: dict[str, Any], dataset: DatasetSpec) -> GateSpec:
        path = spec.get("metric_path")
        section = f"{dataset.problem_type}_metrics."
        if not isinstance(path, str) or not path.startswith(section) or not path.endswith(".value"):
            raise self.fail(
                f"[gate] metric_path {path!r} must be {section}<metric>.value (e.g. {section}{_example_metric(dataset)}.value)"
            )
        comparison = self.choice(spec.get("comparison"), tuple(quality_gate.COMPARISONS), "[gate] comparison")
        threshold = spec.get("threshold")
        if not isinstance(threshold, int | float) or isinstance(threshold, bool):
            raise self.fail(f"[gate] threshold must be a number, not {threshold!r}")
        return GateSpec(path, comparison, float(threshold))


def _example_metric(dataset: DatasetSpec) -> str:
    return "rmse" if dataset.problem_type == REGRESSION else "auc"


def _text(value: object) -> str:
    """A hyperparameter as SageMaker takes it (strings); TOML booleans as the algorithm spells them."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _closest(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _generator(source: Path) -> Any:
    """The example's generator module, loaded from its file (an example folder is no package)."""
    spec = importlib.util.spec_from_file_location(f"example_generator_{source.parent.name}", source)
    if spec is None or spec.loader is None:
        raise ExampleError(f"{source}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "generate", None)):
        raise ExampleError(f"{source}: defines no generate(rows, seed) function")
    return module
