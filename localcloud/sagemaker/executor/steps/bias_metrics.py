"""Clarify's pre-training bias metrics, computed as its open-source library computes them.

Definitions from AWS's "Pre-training bias metrics" pages and aws/amazon-sagemaker-clarify
(``smclarify.bias.metrics.pretraining``), including its choices:

- ``a`` is the rest of the data, ``d`` the facet (the "sensitive" group); the label is first made
  a yes/no "positive outcome" (``label_values_or_threshold``), so the distribution metrics (KL, JS,
  LP, TVD, KS) compare the two groups' shares of positive and negative labels.
- Those distributions keep only the outcomes present in every group compared, without
  renormalising (``pdfs_aligned_nonzero``).
- KS is computed as the L1 norm of the difference, as the library's code does (its docstring says
  the maximum); TVD is half of it.
- CDDL needs ``group_variable``; without one the metric is reported with an error, not a value.

A metric that cannot be computed for the data (an empty group) is an error entry, as in Clarify's
report, never a made-up number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

INFINITY = float("inf")


@dataclass(frozen=True)
class Groups:
    """One facet value's view of the data: who is in the facet, who has a positive label."""

    facet: np.ndarray  # bool: the row belongs to the sensitive group d
    positive: np.ndarray  # bool: the row's label is a positive outcome
    group: np.ndarray | None = None  # group_variable values (CDDL), if configured


def _sizes(groups: Groups) -> tuple[int, int]:
    n_d = int(groups.facet.sum())
    n_a = int((~groups.facet).sum())
    if n_d == 0:
        raise ValueError("Facet set is empty.")
    if n_a == 0:
        raise ValueError("Negative facet set is empty.")
    return n_a, n_d


def ci(groups: Groups) -> float:
    n_a, n_d = _sizes(groups)
    return (n_a - n_d) / (n_a + n_d)


def dpl(groups: Groups) -> float:
    n_a, n_d = _sizes(groups)
    q_a = int((~groups.facet & groups.positive).sum()) / n_a
    q_d = int((groups.facet & groups.positive).sum()) / n_d
    return q_a - q_d


def _pdf(labels: np.ndarray) -> dict[bool, float]:
    values, counts = np.unique(labels, return_counts=True)
    return {bool(v): c / labels.size for v, c in zip(values, counts, strict=True)}


def _aligned(*samples: np.ndarray) -> list[np.ndarray]:
    """The samples' label distributions over the outcomes every one of them has."""
    pdfs = [_pdf(s) for s in samples]
    keys = sorted(k for k in {k for p in pdfs for k in p} if all(p.get(k, 0) > 0 for p in pdfs))
    aligned = [np.array([p[k] for k in keys]) for p in pdfs]
    if any(a.size == 0 for a in aligned):
        raise ValueError("No instance of common facet found, dataset may be too small")
    return aligned


def kl(groups: Groups) -> float:
    p_a, p_d = _aligned(groups.positive[~groups.facet], groups.positive[groups.facet])
    return float(np.sum(p_a * np.log(p_a / p_d)))


def js(groups: Groups) -> float:
    p_a, p_d, p = _aligned(groups.positive[~groups.facet], groups.positive[groups.facet], groups.positive)
    return float(0.5 * (np.sum(p_a * np.log(p_a / p)) + np.sum(p_d * np.log(p_d / p))))


def _lp(groups: Groups, order: int) -> float:
    p_a, p_d = _aligned(groups.positive[~groups.facet], groups.positive[groups.facet])
    return float(np.linalg.norm(p_a - p_d, order))


def lp(groups: Groups) -> float:
    return _lp(groups, 2)


def tvd(groups: Groups) -> float:
    return 0.5 * _lp(groups, 1)


def ks(groups: Groups) -> float:
    return _lp(groups, 1)


def cddl(groups: Groups) -> float:
    if groups.group is None or groups.group.size == 0:
        raise ValueError("Group variable is empty or not provided")
    positive, facet = groups.positive, groups.facet
    if not positive.any():
        raise ValueError("No positive labels in set")
    if positive.all():
        raise ValueError("No negative labels in set")
    counts, disparities = [], []
    for value in np.unique(groups.group):
        member = groups.group == value
        counts.append(int(member.sum()))
        accepted = int((positive & member).sum())
        rejected = int((~positive & member).sum())
        share_accepted = int((positive & facet & member).sum()) / accepted if accepted else 0
        share_rejected = int((~positive & facet & member).sum()) / rejected if rejected else 0
        disparities.append(share_rejected - share_accepted)
    total = sum(counts)
    return float(np.dot(counts, disparities) / total) if total else 0.0


# name -> (description as Clarify's report writes it, function); the report lists them by name.
PRE_TRAINING: dict[str, tuple[str, Callable[[Groups], float]]] = {
    "CDDL": ("Conditional Demographic Disparity in Labels (CDDL)", cddl),
    "CI": ("Class Imbalance (CI)", ci),
    "DPL": ("Difference in Positive Proportions in Labels (DPL)", dpl),
    "JS": ("Jensen-Shannon Divergence (JS)", js),
    "KL": ("Kullback-Liebler Divergence (KL)", kl),
    "KS": ("Kolmogorov-Smirnov Distance (KS)", ks),
    "LP": ("L-p Norm (LP)", lp),
    "TVD": ("Total Variation Distance (TVD)", tvd),
}


def report(groups: Groups, names: list[str]) -> list[dict[str, object]]:
    """The metrics' entries as analysis.json lists them (errors included, infinities as text)."""
    entries: list[dict[str, object]] = []
    for name in sorted(names):
        description, metric = PRE_TRAINING[name]
        try:
            value = metric(groups)
        except ValueError as err:
            entries.append({"name": name, "description": description, "value": None, "error": str(err)})
            continue
        shown: object = value if np.isfinite(value) else str(value).replace("inf", "Infinity")
        entries.append({"name": name, "description": description, "value": shown})
    return entries
