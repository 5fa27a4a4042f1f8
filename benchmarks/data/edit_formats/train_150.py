"""Digits classification experiment: a decision tree on the 8x8 pixel features and a few shape features.

Reads data/train.csv (64 pixel columns pixel_<row>_<col> and label) and data/test.csv (the pixels and id).
Writes predictions.csv (id, label) for the task's evaluation, and outputs/report.json with the validation results.

    python train.py [--seed 0] [--valid-share 0.2] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.tree import DecisionTreeClassifier

log = logging.getLogger("digits")

IMAGE_SIDE = 8
PIXEL_MAX = 16.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train a digits classifier and write predictions.csv")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--output-dir", default="outputs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--valid-share", type=float, default=0.2)
    parser.add_argument("--folds", type=int, default=5)
    return parser.parse_args()


def load_data(data_dir: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The training and test tables and the pixel columns, in row-major order."""
    train = pd.read_csv(Path(data_dir) / "train.csv")
    test = pd.read_csv(Path(data_dir) / "test.csv")
    pixels = [f"pixel_{r}_{c}" for r in range(IMAGE_SIDE) for c in range(IMAGE_SIDE)]
    missing = [c for c in [*pixels, "label"] if c not in train.columns]
    if missing:
        raise ValueError(f"train.csv lacks columns {missing[:5]}")
    return train, test, pixels


def add_features(frame: pd.DataFrame, pixels: list[str]) -> pd.DataFrame:
    """The table with total ink, ink per row and per column, and the ink's centroid appended."""
    images = frame[pixels].to_numpy(dtype=float).reshape(-1, IMAGE_SIDE, IMAGE_SIDE) / PIXEL_MAX
    extra = {"ink": images.sum(axis=(1, 2))}
    rows, cols = images.sum(axis=2), images.sum(axis=1)
    for i in range(IMAGE_SIDE):
        extra[f"row_{i}"] = rows[:, i]
        extra[f"col_{i}"] = cols[:, i]
    grid = np.arange(IMAGE_SIDE, dtype=float)
    mass = extra["ink"] + 1e-9
    extra["centre_row"] = (rows * grid).sum(axis=1) / mass
    extra["centre_col"] = (cols * grid).sum(axis=1) / mass
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(extra)], axis=1)


def build_model(seed: int):
    """The classifier under test."""
    return DecisionTreeClassifier(max_depth=4, random_state=seed)


def fit_predict(seed: int, fit_part: pd.DataFrame, predict_part: pd.DataFrame, columns: list[str]) -> np.ndarray:
    model = build_model(seed)
    model.fit(fit_part[columns], fit_part["label"])
    return model.predict(predict_part[columns])


def cross_validate(seed: int, folds: int, train: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    """Accuracy over stratified folds of the training rows."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = []
    for fit_idx, valid_idx in splitter.split(train, train["label"]):
        predicted = fit_predict(seed, train.iloc[fit_idx], train.iloc[valid_idx], columns)
        scores.append(accuracy_score(train.iloc[valid_idx]["label"], predicted))
    return {"cv_accuracy_mean": float(np.mean(scores)), "cv_accuracy_std": float(np.std(scores))}


def confused_pairs(matrix: np.ndarray, top: int = 5) -> list[dict[str, int]]:
    """The most frequent (true, predicted) confusions."""
    pairs = [{"true": t, "predicted": p, "count": int(matrix[t, p])}
             for t in range(matrix.shape[0]) for p in range(matrix.shape[1]) if t != p and matrix[t, p]]
    return sorted(pairs, key=lambda pair: -pair["count"])[:top]


def evaluate_split(seed: int, fit_part: pd.DataFrame, valid_part: pd.DataFrame,
                   columns: list[str]) -> dict[str, object]:
    predicted = fit_predict(seed, fit_part, valid_part, columns)
    truth = valid_part["label"].to_numpy()
    matrix = confusion_matrix(truth, predicted, labels=list(range(10)))
    return {
        "valid_accuracy": float(accuracy_score(truth, predicted)),
        "valid_macro_f1": float(f1_score(truth, predicted, average="macro")),
        "confused_pairs": confused_pairs(matrix),
    }


def write_predictions(test: pd.DataFrame, predicted: np.ndarray, path: str = "predictions.csv") -> None:
    pd.DataFrame({"id": test["id"], "label": predicted.astype(int)}).to_csv(path, index=False)
    log.info("wrote %s (%d rows)", path, len(test))


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    train, test, pixels = load_data(args.data_dir)
    train = add_features(train, pixels)
    test = add_features(test, pixels)
    columns = [c for c in train.columns if c not in ("label", "id")]

    fit_part, valid_part = train_test_split(train, test_size=args.valid_share, random_state=args.seed,
                                            stratify=train["label"])
    report = evaluate_split(args.seed, fit_part, valid_part, columns)
    log.info("validation accuracy %.4f", report["valid_accuracy"])
    cv = cross_validate(args.seed, args.folds, train, columns)
    log.info("%d-fold accuracy %.4f +- %.4f", args.folds, cv["cv_accuracy_mean"], cv["cv_accuracy_std"])

    predicted = fit_predict(args.seed, train, test, columns)
    write_predictions(test, predicted)
    summary = {"model": repr(build_model(args.seed)), "validation": report, "cross_validation": cv,
               "features": len(columns)}
    (output_dir / "report.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"trained on {len(train)} rows, predicted {len(test)}")


if __name__ == "__main__":
    main()
