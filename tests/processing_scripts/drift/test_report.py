"""report.html as a person reads it: the run's context on top, the share judged against the alarm
threshold, a feature table whose verdicts name every violation and show the raw KS statistic."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from selenium.webdriver.common.by import By

from processing_scripts import dataset
from processing_scripts.drift import engine, sources
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.report import render_report
from processing_scripts.drift.report_context import ReportContext
from processing_scripts.drift.storage import Storage
from tests.browser import drawn_images, remote_sources
from tests.processing_scripts.drift.conftest import write_csv

STORAGE = Storage()
CONTEXT = ReportContext(
    endpoint="abalone-dev",
    data="s3://capture/datacapture/abalone-dev",
    baseline="s3://artifacts/baseline/statistics.json",
    model_package="arn:aws:sagemaker:eu-west-1:123456789012:model-package/abalone/7",
    execution="exec-42",
    share_threshold=0.2,
    created=datetime(2026, 12, 1, 15, 0, 5, tzinfo=UTC),
)


class Tables(HTMLParser):
    """Every table as rows of cell texts; ``header_rows`` counts the rows in each ``<thead>``."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.header_rows: list[list[str]] = []
        self._in_head = False
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._in_head:
            self.header_rows.append(self.tables[-1][-1])

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def facts(self) -> dict[str, str]:
        return {row[0]: row[1] for table in self.tables for row in table if len(row) == 2}

    def table_with(self, first_header: str) -> list[dict[str, str]]:
        table = next(t for t in self.tables if t[0][0] == first_header)
        return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


@pytest.fixture(scope="module")
def baseline(abalone_csv) -> engine.Baseline:
    return engine.build_baseline(sources.open_source(STORAGE, str(abalone_csv)), MonitoringConfig())


@pytest.fixture(scope="module")
def drifted(baseline, abalone, tmp_path_factory) -> engine.CheckResult:
    """length shifted (drift), diameter a third empty (completeness), the rest a resample."""
    rows = 1500
    current = abalone.take(pa.array(np.random.default_rng(3).integers(0, abalone.num_rows, rows)))
    current = current.set_column(1, "length", pc.add(current.column("length"), 0.08))
    diameter = current.column("diameter").to_numpy().astype(object)
    diameter[np.arange(rows) % 3 == 0] = None
    current = current.set_column(2, "diameter", pa.array(diameter, pa.float64()))
    path = write_csv(current, tmp_path_factory.mktemp("report") / "current.csv")
    return engine.run_check(baseline, sources.open_source(STORAGE, str(path)))


@pytest.fixture(scope="module")
def page(drifted) -> Tables:
    return Tables(render_report(drifted, CONTEXT))


def test_context_on_top_and_the_share_beside_its_alarm_threshold(page, drifted):
    facts = page.facts()
    assert page.tables[0][0] == ["endpoint", "abalone-dev"]  # the context comes first
    assert facts["baseline"] == CONTEXT.baseline and facts["model package"] == CONTEXT.model_package
    assert facts["execution"] == "exec-42" and facts["created"] == "2026-12-01 15:00:05 UTC"
    assert facts["current data"] == CONTEXT.data
    share = f"{drifted.drifted_share:.0%}"
    assert facts["drifted feature share"] == f"{share} vs alarm threshold 20%: below the retrain alarm"


def test_absent_context_is_not_shown(drifted):
    bare = Tables(render_report(drifted))
    assert not {"endpoint", "execution", "created", "window"} & bare.facts().keys()
    assert bare.facts()["drifted feature share"] == f"{drifted.drifted_share:.0%}"


def test_feature_table_names_every_violation_and_shows_the_raw_ks_statistic(page, drifted):
    assert all(all(cell for cell in row) for row in page.header_rows)  # no empty header cell or row
    features = {row["feature"]: row for row in page.table_with("feature")}
    assert features["length"]["verdict"] == "drift"
    assert "completeness_check" in features["diameter"]["verdict"]
    assert features["height"]["verdict"] == "ok"
    length = next(f for f in drifted.features if f.name == "length")
    assert length.distance is not None
    assert float(features["length"]["KS / L\u221e (raw)"]) == pytest.approx(length.distance.linf, abs=1e-4)


def one_hot(table: pa.Table) -> pa.Table:
    """The model's inputs as preprocessing makes them: ``sex`` as one 0/1 column per value."""
    sex = table.column("sex")
    encoded = table.drop_columns(["sex", "rings"])
    for value, column in dataset.one_hot_columns()["sex"].items():
        encoded = encoded.append_column(column, pc.cast(pc.equal(sex, value), pa.int64()))
    return encoded


def test_one_hot_columns_are_one_categorical_panel_of_value_shares(abalone, tmp_path):
    folder = tmp_path
    built = engine.build_baseline(
        sources.open_source(STORAGE, str(write_csv(one_hot(abalone), folder / "base.csv"))),
        MonitoringConfig(),
    )
    current = abalone.slice(0, 1000)
    current = current.set_column(0, "sex", pa.array(np.where(np.arange(1000) % 10 < 8, "M", "F")))
    result = engine.run_check(
        built, sources.open_source(STORAGE, str(write_csv(one_hot(current), folder / "now.csv")))
    )
    assert {f.name for f in result.drifted} >= {"sex_M"}

    page = render_report(result)
    [alt] = re.findall(r'<img alt="([^"]*)"', page)
    panels = alt.removeprefix("baseline vs current distribution of ").split(", ")
    assert panels[-1] == "sex (one-hot)"
    assert not [p for p in panels if p.startswith("sex_")]
    assert len(panels) == len(built.features) - 2  # three one-hot columns, one panel

    # the table too: one row for sex, its value shares on both sides, its worst column's statistic
    rows = {row["feature"]: row for row in Tables(page).table_with("feature")}
    assert not [name for name in rows if name.startswith("sex_")]
    sex = rows["sex"]
    assert sex["type"] == "categorical (3 one-hot columns)"
    shares = dict(
        (part.split(" ")[0], part.split(" ", 1)[1])
        for part in sex["category shares (baseline \u2192 current)"].split(", ")
    )
    base = {v: np.mean(abalone.column("sex").to_numpy() == v) for v in ("F", "I", "M")}
    assert shares == {v: f"{base[v]:.0%} \u2192 {now:.0%}" for v, now in (("F", 0.2), ("I", 0.0), ("M", 0.8))}
    worst = max((f for f in result.features if f.name.startswith("sex_")), key=lambda f: f.distance.value)
    assert sex["method"] == f"{worst.distance.method} ({worst.name}, worst)"
    assert float(sex["distance"]) == pytest.approx(worst.distance.value, abs=1e-4)
    assert "sex_M: drift" in sex["verdict"]
    assert rows["length"]["category shares (baseline \u2192 current)"] == ""


def test_the_report_renders_in_a_browser_with_every_plot_and_nothing_fetched(drifted, tmp_path, open_page):
    page = render_report(drifted, CONTEXT)
    path = tmp_path / "report.html"
    path.write_text(page)

    errors, driver = open_page(path)

    assert errors == []
    assert remote_sources(page) == []
    assert driver.title == "Data drift report"
    assert drawn_images(driver) == 1  # the one grid of distribution panels
    assert len(driver.find_elements(By.CSS_SELECTOR, "table")) >= 3
