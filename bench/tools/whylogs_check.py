"""whylogs: profile both files, then its drift scores (KS for numbers, chi-squared for categories);
a feature counts as drifted when whylogs calls it DRIFT."""

import pandas as pd
import whylogs as why
from common import arguments, report
from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

args = arguments(__doc__)
reference = why.log(pd.read_csv(args.reference)).view()
current = why.log(pd.read_csv(args.current)).view()
scores = calculate_drift_scores(target_view=current, reference_view=reference, with_thresholds=True)
report([name for name, score in scores.items() if score and score.get("drift_category") == "DRIFT"])
