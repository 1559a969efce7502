"""Hyperparameter-tuning problems in the style of Bayesmark (NeurIPS 2020 BBO challenge).

Each problem is a scikit-learn model on a bundled data set (``load_wine``: 3-class
classification scored by log loss; ``load_diabetes``: regression scored by mean squared
error), evaluated by 5-fold cross-validation with fixed folds and ``random_state=0``, so
the objective is a deterministic function of the configuration. No download happens.

Search spaces follow Bayesmark's ``bayesmark/sklearn_funcs.py`` (uber/bayesmark), with
three deliberate changes, the same for every optimizer:

- Bayesmark's "logit"-scaled floats (fractions such as ``max_features``) are plain
  bounded floats here: neither evotune's space nor the peers have a logit scale.
- Lasso (regression) drops ``normalize`` (removed from scikit-learn); it keeps ``alpha``,
  ``max_iter``, ``tol`` (log scales) and the booleans ``fit_intercept`` and ``positive``
  as categoricals.
- Features are standardised once (mean 0, variance 1) before cross-validation; the
  logistic regression is one-vs-rest liblinear, as in Bayesmark ("linear" model); the
  SVM classifier keeps Bayesmark's ``SVC(probability=True)`` (deprecated in scikit-learn
  1.9, warning silenced: its replacement, ``CalibratedClassifierCV``, is 4x slower here).

Random forests keep Bayesmark's ``n_estimators=10``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from sklearn.datasets import load_diabetes, load_wine
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from .params import Param, categorical, config_key, integer, real

CV_SPLITS = 5
SEED = 0

# Search spaces: ranges and scales from Bayesmark's sklearn_funcs.py.
_KNN = (integer("n_neighbors", 1, 25), integer("p", 1, 4))
_SVM = (
    real("C", 1.0, 1e3, log=True),
    real("gamma", 1e-4, 1e-3, log=True),
    real("tol", 1e-5, 1e-1, log=True),
)
_TREE = (
    integer("max_depth", 1, 15),
    real("max_features", 0.01, 0.99),
    real("min_samples_split", 0.01, 0.99),
    real("min_samples_leaf", 0.01, 0.49),
    real("min_weight_fraction_leaf", 0.01, 0.49),
    real("min_impurity_decrease", 0.0, 0.5),
)
_LOGREG = (real("C", 1e-2, 1e2, log=True), real("intercept_scaling", 1e-2, 1e2, log=True))
_LASSO = (
    real("alpha", 1e-2, 1e2, log=True),
    categorical("fit_intercept", (False, True)),
    integer("max_iter", 10, 5000, log=True),
    real("tol", 1e-5, 1e-1, log=True),
    categorical("positive", (False, True)),
)


def _logreg(**kw: Any) -> OneVsRestClassifier:
    return OneVsRestClassifier(LogisticRegression(solver="liblinear", **kw))


# model name -> (classifier factory, regressor factory, search space)
_MODELS: dict[str, tuple[Callable[..., Any] | None, Callable[..., Any] | None, tuple[Param, ...]]] = {
    "kNN": (KNeighborsClassifier, KNeighborsRegressor, _KNN),
    "SVM": (lambda **kw: SVC(kernel="rbf", probability=True, random_state=SEED, **kw),
            lambda **kw: SVR(kernel="rbf", **kw), _SVM),
    "DT": (lambda **kw: DecisionTreeClassifier(random_state=SEED, **kw),
           lambda **kw: DecisionTreeRegressor(random_state=SEED, **kw), _TREE),
    "RF": (lambda **kw: RandomForestClassifier(n_estimators=10, random_state=SEED, **kw),
           lambda **kw: RandomForestRegressor(n_estimators=10, random_state=SEED, **kw), _TREE),
    "logreg": (_logreg, None, _LOGREG),
    "lasso": (None, lambda **kw: Lasso(random_state=SEED, **kw), _LASSO),
}

DATASETS = {"wine": "log_loss", "diabetes": "mse"}
TUNING_NAMES: tuple[str, ...] = (
    "kNN-wine", "SVM-wine", "DT-wine", "RF-wine", "logreg-wine",
    "kNN-diabetes", "SVM-diabetes", "DT-diabetes", "RF-diabetes", "lasso-diabetes",
)


@lru_cache(maxsize=None)
def _data(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    if dataset == "wine":
        x, y = load_wine(return_X_y=True)
    elif dataset == "diabetes":
        x, y = load_diabetes(return_X_y=True)
    else:
        raise ValueError(f"unknown data set {dataset!r}")
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x, y


@dataclass
class TuningProblem:
    """Cross-validated loss of one model on one data set, as a function of its config.

    >>> p = TuningProblem.make("kNN-wine")
    >>> round(p.evaluate({"n_neighbors": 5, "p": 2}), 3) > 0
    True
    """

    name: str
    model: str
    dataset: str
    metric: str
    params_: tuple[Param, ...]

    @classmethod
    def make(cls, name: str) -> "TuningProblem":
        """Build ``"<model>-<dataset>"``, e.g. ``"SVM-wine"``."""
        model, dataset = name.split("-")
        clf, reg, params = _MODELS[model]
        if (clf if dataset == "wine" else reg) is None:
            raise ValueError(f"no {model} for {dataset}")
        return cls(name, model, dataset, DATASETS[dataset], params)

    def params(self) -> tuple[Param, ...]:
        """The search space."""
        return self.params_

    def evaluate(self, config: dict[str, Any]) -> float:
        """Mean 5-fold CV loss (log loss or MSE; lower is better); cached by config."""
        return _cv_loss(self.model, self.dataset, config_key(config))


@lru_cache(maxsize=None)
def _cv_loss(model: str, dataset: str, key: tuple[tuple[str, Any], ...]) -> float:
    clf, reg, _ = _MODELS[model]
    x, y = _data(dataset)
    kwargs = dict(key)
    if dataset == "wine":
        estimator = clf(**kwargs)  # type: ignore[misc]
        folds: Any = StratifiedKFold(CV_SPLITS, shuffle=True, random_state=SEED)
        scoring = "neg_log_loss"
    else:
        estimator = reg(**kwargs)  # type: ignore[misc]
        folds = KFold(CV_SPLITS, shuffle=True, random_state=SEED)
        scoring = "neg_mean_squared_error"
    with warnings.catch_warnings():
        # odd configurations (tiny max_iter, huge tol) warn by design
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        scores = cross_val_score(estimator, x, y, scoring=scoring, cv=folds, error_score="raise")
    return float(-np.mean(scores))
