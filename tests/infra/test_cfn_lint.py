"""cfn-lint over every synthesized template: zero errors and zero warnings."""

from __future__ import annotations

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import CONCERNS, Synthesized


@pytest.mark.parametrize("concern", CONCERNS)
def test_template_is_cfn_lint_clean(synthesized: Synthesized, concern: str) -> None:
    stack = getattr(synthesized.stacks, concern)
    template = synthesized.outdir / stack.template_file
    matches = lint_file(template, config=ManualArgs(regions=[synthesized.settings.region]))
    assert [str(m) for m in matches] == []
