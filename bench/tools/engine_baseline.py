"""This project's engine, baseline step: profile the reference file into statistics/constraints."""

from common import arguments, report

from processing_scripts.drift import engine, sources
from processing_scripts.drift.config import MonitoringConfig
from processing_scripts.drift.formats import write_files
from processing_scripts.drift.storage import Storage

args = arguments(__doc__)
baseline = engine.build_baseline(sources.open_source(Storage(), str(args.reference)), MonitoringConfig())
write_files(args.work / "baseline", baseline.outputs())
report(None)
