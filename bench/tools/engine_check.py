"""This project's engine, check step: current file vs the baseline the baseline step wrote.

With ``--report`` it also renders report.html (matplotlib); without, it writes the JSON outputs only.
"""

import sys

from common import arguments, report

from processing_scripts.drift import engine, sources
from processing_scripts.drift.formats import write_files
from processing_scripts.drift.storage import Storage

with_report = "--report" in sys.argv
if with_report:
    sys.argv.remove("--report")
args = arguments(__doc__)
storage = Storage()
loaded = engine.load_baseline(storage, str(args.work / "baseline"))
result = engine.run_check(loaded, sources.open_source(storage, str(args.current)))
write_files(args.work / "check", engine.check_outputs(result, report=with_report))
report([f.name for f in result.drifted])
