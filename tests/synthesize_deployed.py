"""``python -m tests.synthesize_deployed FOLDER``: what the test run's ``deployed_artifacts`` reads.

Run in the background by the first test worker that collects a test needing it (tests/conftest.py),
so the 10-20 s synthesis overlaps with other tests instead of holding a worker. It writes
``synthesized.ok`` when done, or ``synthesized.failed`` with the error, for the fixture to wait on.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

OK, FAILED = "synthesized.ok", "synthesized.failed"


def main(target: Path) -> int:
    try:
        from localcloud.cloud import synthesize
        from pipelines import settings

        # Baked in as `make demo` does, so the stories' runs carry a real commit (lineage).
        synthesize(settings.with_checkout_commit(settings.load("dev")), target, cdk_validation=True)
    except BaseException:
        (target / FAILED).write_text(traceback.format_exc())
        return 1
    (target / OK).touch()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
