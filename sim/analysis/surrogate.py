"""Drivers from a surrogate: which assumptions decide an answer, estimated on a metamodel of the worlds.

Each world is one simulation with its own replication noise, so variance-based indices estimated on the
runs themselves (Saltelli) carry that noise into every parameter, and need tens of thousands of runs. The
practice for expensive stochastic simulators (Kleijnen 2015, ch. 5; Marrel et al. 2009) is to fit a
metamodel to a space-filling sample and compute the indices on it.

The metamodel is scikit-learn's histogram gradient boosting: with about a hundred inputs, most of which do
not matter, and a thousand worlds, trees ignore irrelevant inputs and capture thresholds and interactions
without tuning, and a fit takes well under a second. A Gaussian process with one length scale per input
would be smoother but fits poorly and slowly in a hundred dimensions with this many points. Its
cross-validated R^2 says how much of the answer's variation across worlds it explains; Sobol first- and
total-order indices (SALib, on 512 Saltelli base points of the surrogate) are reported only when that R^2
is at least ADEQUATE_R2; otherwise the table says the surrogate is poor and gives no indices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

ADEQUATE_R2 = 0.5
FOLDS = 5
SOBOL_BASE = 512


def make_surrogate(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=10,
                                         l2_regularization=1.0, early_stopping=False, random_state=seed)


def cross_validated_r2(X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Out-of-fold R^2 of the surrogate (five folds, shuffled with ``seed``)."""
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold, cross_val_predict

    if len(y) < 2 * FOLDS or float(np.ptp(y)) == 0.0:
        return math.nan
    predicted = cross_val_predict(make_surrogate(seed), X, y, cv=KFold(FOLDS, shuffle=True, random_state=seed))
    return float(r2_score(y, predicted))


def surrogate_indices(X: np.ndarray, y: np.ndarray, names: Sequence[str], bounds: Sequence[tuple[float, float]],
                      seed: int) -> tuple[pd.DataFrame, float]:
    """Sobol S1 and ST (with 95% intervals) of the fitted surrogate over ``bounds``, and its cross-validated R^2.

    The indices are NaN where R^2 is below ADEQUATE_R2 (or cannot be computed)."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    X, y = np.asarray(X, float), np.asarray(y, float)
    keep = ~np.isnan(y)
    X, y = X[keep], y[keep]
    r2 = cross_validated_r2(X, y, seed)
    table = pd.DataFrame({"parameter": list(names), "S1": math.nan, "S1_conf": math.nan, "ST": math.nan,
                          "ST_conf": math.nan})
    if math.isnan(r2) or r2 < ADEQUATE_R2:
        return table, r2
    model = make_surrogate(seed).fit(X, y)
    widths = [(lo, hi) if hi > lo else (lo, lo + 1e-12) for lo, hi in bounds]
    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in widths]}
    points = sample.sample(problem, SOBOL_BASE, calc_second_order=False, seed=seed)
    s = analyze.analyze(problem, model.predict(points), calc_second_order=False, print_to_console=False, seed=seed)
    table["S1"], table["S1_conf"], table["ST"], table["ST_conf"] = s["S1"], s["S1_conf"], s["ST"], s["ST_conf"]
    return table, r2


def emulator(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[Any, float]:
    """A surrogate of one calibration statistic over the parameters, for refocusing a second wave of worlds: the
    fitted model and its out-of-fold error sd (the emulator's own uncertainty, added to the implausibility)."""
    from sklearn.model_selection import KFold, cross_val_predict

    X, y = np.asarray(X, float), np.asarray(y, float)
    keep = ~np.isnan(y)
    X, y = X[keep], y[keep]
    if len(y) < 2 * FOLDS or float(np.ptp(y)) == 0.0:
        constant = float(np.mean(y)) if len(y) else math.nan

        class Constant:
            def predict(self, points: np.ndarray) -> np.ndarray:
                return np.full(len(points), constant)

        return Constant(), float(np.std(y)) if len(y) else math.nan
    predicted = cross_val_predict(make_surrogate(seed), X, y, cv=KFold(FOLDS, shuffle=True, random_state=seed))
    return make_surrogate(seed).fit(X, y), float(np.sqrt(np.mean((predicted - y) ** 2)))
