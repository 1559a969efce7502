"""Train an SVM on scikit-learn's bundled digits data and report its cross-validated accuracy.

A real training job for evotune: its hyperparameters arrive as command-line arguments (the
study file's ``job.argv``), and it reports with ``evotune.trial.report``, which prints one
``EVOTUNE_METRICS {...}`` line and appends to ``$EVOTUNE_OUTPUT_DIR/metrics.jsonl``.

With ``--export-onnx`` it also fits the model on the training split only and writes
``$EVOTUNE_OUTPUT_DIR/model.onnx`` for the evaluation service, which scores it on validation
rows this job never loads.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from evotune.trial import report


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--C", type=float, default=1.0, help="SVM regularisation (log scale)")
    p.add_argument("--gamma", type=float, default=1e-3, help="kernel coefficient (log scale)")
    p.add_argument("--kernel", choices=["rbf", "poly", "sigmoid"], default="rbf")
    p.add_argument("--degree", type=int, default=3, help="polynomial degree (kernel=poly only)")
    p.add_argument("--pca-components", type=int, default=32, help="PCA components before the SVM")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--export-onnx", action="store_true",
                   help="fit on the training split only and write model.onnx to EVOTUNE_OUTPUT_DIR")
    return p.parse_args()


def make_model(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    svm = SVC(C=args.C, gamma=args.gamma, kernel=args.kernel, degree=args.degree, probability=False)
    return make_pipeline(StandardScaler(), PCA(n_components=args.pca_components, random_state=0), svm)


def training_rows() -> tuple[np.ndarray, np.ndarray]:
    """The rows this job may see: all of digits, or only the training split when exporting a
    model for the evaluation service (which holds the validation split)."""
    X, y = load_digits(return_X_y=True)
    if os.environ.get("EVOTUNE_TRAIN_SPLIT_ONLY") == "1":
        from evotune.evaluation import load_split  # the service's own split definition

        X, y = load_split("digits", "train")
    return X.astype(np.float32), y


def main() -> None:
    args = parse_args()
    seed = int(os.environ.get("EVOTUNE_SEED", "0"))
    X, y = training_rows()
    start = time.perf_counter()
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=seed)
    scores = cross_val_score(make_model(args), X, y, cv=folds)
    for step, fold_score in enumerate(scores):
        report(fold_accuracy=float(fold_score), step=step)
    report(accuracy=float(np.mean(scores)), fit_seconds=time.perf_counter() - start)
    if args.export_onnx:
        export_onnx(make_model(args).fit(X, y), X.shape[1])


def export_onnx(model, n_features: int) -> None:  # type: ignore[no-untyped-def]
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    onnx_model = to_onnx(model, initial_types=[("input", FloatTensorType([None, n_features]))],
                         target_opset=17)
    out = os.path.join(os.environ.get("EVOTUNE_OUTPUT_DIR", "."), "model.onnx")
    with open(out, "wb") as fh:
        fh.write(onnx_model.SerializeToString())


if __name__ == "__main__":
    main()
