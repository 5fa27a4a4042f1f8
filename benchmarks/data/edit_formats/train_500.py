"""Digits classification experiment: a decision tree on the 8x8 pixel features and hand-made shape features.

Reads data/train.csv (64 pixel columns pixel_<row>_<col> and label) and data/test.csv (the pixels and id).
Writes predictions.csv (id, label) for the task's evaluation, and into outputs/: a validation report (JSON and
Markdown), the confusion matrix (CSV and PNG), a learning curve, per-class errors and one line per run in runs.jsonl.

    python train.py [--seed 0] [--valid-share 0.2] [--folds 5] [--no-plots]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_selection import VarianceThreshold
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

log = logging.getLogger("digits")

IMAGE_SIDE = 8
PIXEL_MAX = 16.0
N_CLASSES = 10


# ----------------------------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Config:
    """Settings of one run; every field can be set on the command line."""

    data_dir: str = "data"
    output_dir: str = "outputs"
    seed: int = 0
    valid_share: float = 0.2
    folds: int = 5
    bootstrap_rounds: int = 200
    learning_curve_sizes: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0])
    min_feature_variance: float = 0.0
    scale_features: bool = False
    plots: bool = True


def parse_args() -> Config:
    parser = argparse.ArgumentParser(description="Train a digits classifier and write predictions.csv")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--output-dir", default="outputs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--valid-share", type=float, default=0.2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--bootstrap-rounds", type=int, default=200)
    parser.add_argument("--scale-features", action="store_true")
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args()
    return Config(data_dir=args.data_dir, output_dir=args.output_dir, seed=args.seed, valid_share=args.valid_share,
                  folds=args.folds, bootstrap_rounds=args.bootstrap_rounds, scale_features=args.scale_features,
                  plots=not args.no_plots)


def setup_logging(output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    handlers = [logging.StreamHandler(), logging.FileHandler(output_dir / "train.log", mode="w")]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers)


@contextmanager
def timed(name: str, timings: dict[str, float]):
    """Record the seconds a block takes under `name`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - started, 3)
        log.info("%s took %.2fs", name, timings[name])


# ----------------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------------
def load_data(data_dir: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The training and test tables and the pixel columns, in row-major order."""
    train = pd.read_csv(Path(data_dir) / "train.csv")
    test = pd.read_csv(Path(data_dir) / "test.csv")
    pixels = [f"pixel_{r}_{c}" for r in range(IMAGE_SIDE) for c in range(IMAGE_SIDE)]
    check_columns(train, [*pixels, "label"], "train.csv")
    check_columns(test, [*pixels, "id"], "test.csv")
    return train, test, pixels


def check_columns(frame: pd.DataFrame, expected: list[str], name: str) -> None:
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing[:5]}{' ...' if len(missing) > 5 else ''}")


def check_pixels(frame: pd.DataFrame, pixels: list[str], name: str) -> dict[str, float]:
    """Range, missing values and duplicates of the pixel block; warns about anything unusual."""
    values = frame[pixels].to_numpy(dtype=float)
    summary = {
        "rows": float(len(frame)),
        "missing": float(np.isnan(values).sum()),
        "min": float(np.nanmin(values)),
        "max": float(np.nanmax(values)),
        "duplicates": float(frame.duplicated(subset=pixels).sum()),
    }
    if summary["missing"]:
        log.warning("%s: %d missing pixel values", name, int(summary["missing"]))
    if summary["min"] < 0 or summary["max"] > PIXEL_MAX:
        log.warning("%s: pixel values outside [0, %g]", name, PIXEL_MAX)
    if summary["duplicates"]:
        log.info("%s: %d duplicated images", name, int(summary["duplicates"]))
    return summary


def label_balance(labels: pd.Series) -> dict[int, int]:
    counts = labels.value_counts().sort_index()
    ratio = counts.max() / max(counts.min(), 1)
    if ratio > 1.5:
        log.warning("labels are imbalanced: the largest class is %.1fx the smallest", ratio)
    return {int(k): int(v) for k, v in counts.items()}


# ----------------------------------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------------------------------
def as_images(frame: pd.DataFrame, pixels: list[str]) -> np.ndarray:
    return frame[pixels].to_numpy(dtype=float).reshape(-1, IMAGE_SIDE, IMAGE_SIDE) / PIXEL_MAX


def ink_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """Total ink, and the share of it in each half of the image."""
    total = images.sum(axis=(1, 2)) + 1e-9
    half = IMAGE_SIDE // 2
    return {
        "ink": total,
        "ink_top": images[:, :half, :].sum(axis=(1, 2)) / total,
        "ink_left": images[:, :, :half].sum(axis=(1, 2)) / total,
    }


def profile_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """Ink per row and per column of the image."""
    features = {}
    rows = images.sum(axis=2)
    cols = images.sum(axis=1)
    for i in range(IMAGE_SIDE):
        features[f"row_{i}"] = rows[:, i]
        features[f"col_{i}"] = cols[:, i]
    return features


def symmetry_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """How much of the image matches its left-right and top-bottom mirror."""
    flipped_lr = images[:, :, ::-1]
    flipped_ud = images[:, ::-1, :]
    return {
        "symmetry_lr": np.abs(images - flipped_lr).mean(axis=(1, 2)),
        "symmetry_ud": np.abs(images - flipped_ud).mean(axis=(1, 2)),
    }


def moment_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """Centroid and spread of the ink."""
    grid = np.arange(IMAGE_SIDE, dtype=float)
    mass = images.sum(axis=(1, 2)) + 1e-9
    row_mass = images.sum(axis=2)
    col_mass = images.sum(axis=1)
    centre_row = (row_mass * grid).sum(axis=1) / mass
    centre_col = (col_mass * grid).sum(axis=1) / mass
    spread_row = np.sqrt((row_mass * (grid - centre_row[:, None]) ** 2).sum(axis=1) / mass)
    spread_col = np.sqrt((col_mass * (grid - centre_col[:, None]) ** 2).sum(axis=1) / mass)
    return {"centre_row": centre_row, "centre_col": centre_col, "spread_row": spread_row, "spread_col": spread_col}


def edge_features(images: np.ndarray, threshold: float = 0.3) -> dict[str, np.ndarray]:
    """Counts of ink/background transitions along rows and columns (strokes crossed)."""
    ink = images > threshold
    across = np.abs(np.diff(ink.astype(int), axis=2)).sum(axis=(1, 2))
    down = np.abs(np.diff(ink.astype(int), axis=1)).sum(axis=(1, 2))
    return {"edges_across": across.astype(float), "edges_down": down.astype(float)}


def zone_features(images: np.ndarray, zones: int = 2) -> dict[str, np.ndarray]:
    """Mean ink in each of zones x zones blocks of the image."""
    size = IMAGE_SIDE // zones
    features = {}
    for i in range(zones):
        for j in range(zones):
            block = images[:, i * size : (i + 1) * size, j * size : (j + 1) * size]
            features[f"zone_{i}_{j}"] = block.mean(axis=(1, 2))
    return features


def add_features(frame: pd.DataFrame, pixels: list[str]) -> pd.DataFrame:
    """The table with the shape features appended to the pixel columns."""
    images = as_images(frame, pixels)
    extra: dict[str, np.ndarray] = {}
    for make in (ink_features, profile_features, symmetry_features, moment_features, edge_features, zone_features):
        extra.update(make(images))
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(extra)], axis=1)


def select_features(train: pd.DataFrame, columns: list[str], min_variance: float) -> list[str]:
    """The columns whose variance on the training rows is above `min_variance`."""
    selector = VarianceThreshold(threshold=min_variance)
    selector.fit(train[columns])
    kept = [c for c, keep in zip(columns, selector.get_support(), strict=True) if keep]
    log.info("kept %d of %d feature columns", len(kept), len(columns))
    return kept


class Preprocessor:
    """Optional standardisation, fitted on the training rows only."""

    def __init__(self, scale: bool) -> None:
        self.scale = scale
        self.scaler = StandardScaler() if scale else None

    def fit(self, frame: pd.DataFrame, columns: list[str]) -> Preprocessor:
        if self.scaler is not None:
            self.scaler.fit(frame[columns])
        self.columns = columns
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame[self.columns].to_numpy(dtype=float)
        return self.scaler.transform(values) if self.scaler is not None else values


# ----------------------------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------------------------
def build_model(seed: int):
    """The classifier under test."""
    return DecisionTreeClassifier(max_depth=4, random_state=seed)


def fit_predict(config: Config, fit_part: pd.DataFrame, predict_part: pd.DataFrame,
                columns: list[str]) -> tuple[np.ndarray, object]:
    prep = Preprocessor(config.scale_features).fit(fit_part, columns)
    model = build_model(config.seed)
    model.fit(prep.transform(fit_part), fit_part["label"])
    return model.predict(prep.transform(predict_part)), model


def cross_validate(config: Config, train: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    """Accuracy and macro-F1 over stratified folds of the training rows."""
    folds = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    accuracies, f1s = [], []
    for number, (fit_idx, valid_idx) in enumerate(folds.split(train, train["label"]), start=1):
        fit_part, valid_part = train.iloc[fit_idx], train.iloc[valid_idx]
        predicted, _ = fit_predict(config, fit_part, valid_part, columns)
        accuracies.append(accuracy_score(valid_part["label"], predicted))
        f1s.append(f1_score(valid_part["label"], predicted, average="macro"))
        log.info("fold %d: accuracy %.4f", number, accuracies[-1])
    return {"cv_accuracy_mean": float(np.mean(accuracies)), "cv_accuracy_std": float(np.std(accuracies)),
            "cv_macro_f1_mean": float(np.mean(f1s))}


def learning_curve(config: Config, fit_part: pd.DataFrame, valid_part: pd.DataFrame,
                   columns: list[str]) -> list[dict[str, float]]:
    """Validation accuracy when training on growing shares of the fitting rows."""
    points = []
    for share in config.learning_curve_sizes:
        n = max(N_CLASSES * 2, int(len(fit_part) * share))
        subset = fit_part.sample(n=n, random_state=config.seed) if n < len(fit_part) else fit_part
        predicted, _ = fit_predict(config, subset, valid_part, columns)
        points.append({"share": share, "rows": float(n), "accuracy": accuracy_score(valid_part["label"], predicted)})
    return points


# ----------------------------------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------------------------------
def baseline_scores(fit_part: pd.DataFrame, valid_part: pd.DataFrame, columns: list[str]) -> dict[str, float]:
    """Validation accuracy of two reference predictors: the majority class and the nearest class centroid."""
    majority = fit_part["label"].mode().iloc[0]
    scores = {"majority_class": float((valid_part["label"] == majority).mean())}
    centroids = fit_part.groupby("label")[columns].mean()
    values = valid_part[columns].to_numpy(dtype=float)
    distances = ((values[:, None, :] - centroids.to_numpy()[None, :, :]) ** 2).sum(axis=2)
    nearest = centroids.index.to_numpy()[distances.argmin(axis=1)]
    scores["nearest_centroid"] = float((valid_part["label"].to_numpy() == nearest).mean())
    for name, score in scores.items():
        log.info("baseline %s: accuracy %.4f", name, score)
    return scores


def describe_environment() -> dict[str, str]:
    """Versions of what the results depend on."""
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__, "machine": platform.machine()}


def bootstrap_interval(truth: np.ndarray, predicted: np.ndarray, rounds: int, seed: int,
                       level: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval of the accuracy."""
    rng = np.random.default_rng(seed)
    correct = (truth == predicted).astype(float)
    scores = [correct[rng.integers(0, len(correct), len(correct))].mean() for _ in range(rounds)]
    low, high = np.quantile(scores, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(low), float(high)


def confused_pairs(matrix: np.ndarray, top: int = 5) -> list[dict[str, int]]:
    """The most frequent (true, predicted) confusions."""
    pairs = []
    for true_label in range(matrix.shape[0]):
        for predicted_label in range(matrix.shape[1]):
            if true_label != predicted_label and matrix[true_label, predicted_label]:
                pairs.append({"true": true_label, "predicted": predicted_label,
                              "count": int(matrix[true_label, predicted_label])})
    return sorted(pairs, key=lambda p: -p["count"])[:top]


def per_class_errors(truth: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"true": truth, "predicted": predicted})
    frame["error"] = frame["true"] != frame["predicted"]
    table = frame.groupby("true")["error"].agg(["sum", "count"]).rename(columns={"sum": "errors", "count": "rows"})
    table["error_rate"] = (table["errors"] / table["rows"]).round(4)
    return table.reset_index()


def evaluate_split(config: Config, fit_part: pd.DataFrame, valid_part: pd.DataFrame,
                   columns: list[str]) -> tuple[dict[str, object], np.ndarray]:
    predicted, _ = fit_predict(config, fit_part, valid_part, columns)
    truth = valid_part["label"].to_numpy()
    matrix = confusion_matrix(truth, predicted, labels=list(range(N_CLASSES)))
    low, high = bootstrap_interval(truth, predicted, config.bootstrap_rounds, config.seed)
    report = {
        "valid_accuracy": float(accuracy_score(truth, predicted)),
        "valid_accuracy_95ci": [low, high],
        "valid_macro_f1": float(f1_score(truth, predicted, average="macro")),
        "confused_pairs": confused_pairs(matrix),
        "classification_report": classification_report(truth, predicted, output_dict=True, zero_division=0),
    }
    return report, matrix


# ----------------------------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------------------------
def save_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, default=float), encoding="utf-8")


def save_confusion(path: Path, matrix: np.ndarray) -> None:
    labels = [str(i) for i in range(matrix.shape[0])]
    pd.DataFrame(matrix, index=labels, columns=labels).to_csv(path)


def markdown_summary(config: Config, report: dict[str, object], cv: dict[str, float],
                     curve: list[dict[str, float]], timings: dict[str, float]) -> str:
    low, high = report["valid_accuracy_95ci"]  # type: ignore[misc]
    lines = [
        "# Digits experiment",
        "",
        f"- model: `{build_model(config.seed)!r}`",
        f"- validation accuracy: {report['valid_accuracy']:.4f} (95% interval {low:.4f}-{high:.4f})",
        f"- validation macro-F1: {report['valid_macro_f1']:.4f}",
        f"- {config.folds}-fold accuracy: {cv['cv_accuracy_mean']:.4f} +- {cv['cv_accuracy_std']:.4f}",
        "",
        "| training share | rows | validation accuracy |",
        "|---|---|---|",
    ]
    lines += [f"| {p['share']:.2f} | {int(p['rows'])} | {p['accuracy']:.4f} |" for p in curve]
    lines += ["", "| step | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.2f} |" for name, seconds in timings.items()]
    return "\n".join(lines) + "\n"


def plot_confusion(path: Path, matrix: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 4))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_xticks(range(matrix.shape[1]))
    axes.set_yticks(range(matrix.shape[0]))
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def plot_learning_curve(path: Path, curve: list[dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 3))
    axes.plot([p["rows"] for p in curve], [p["accuracy"] for p in curve], marker="o")
    axes.set_xlabel("training rows")
    axes.set_ylabel("validation accuracy")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def append_run(path: Path, config: Config, report: dict[str, object], cv: dict[str, float]) -> None:
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "config": asdict(config),
        "valid_accuracy": report["valid_accuracy"],
        "cv_accuracy_mean": cv["cv_accuracy_mean"],
    }
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=float) + "\n")


def write_predictions(test: pd.DataFrame, predicted: np.ndarray, path: str = "predictions.csv") -> None:
    pd.DataFrame({"id": test["id"], "label": predicted.astype(int)}).to_csv(path, index=False)
    log.info("wrote %s (%d rows)", path, len(test))


# ----------------------------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------------------------
def main() -> None:
    config = parse_args()
    output_dir = Path(config.output_dir)
    setup_logging(output_dir)
    timings: dict[str, float] = {}
    np.random.seed(config.seed)

    with timed("load", timings):
        train, test, pixels = load_data(config.data_dir)
        quality = {"train": check_pixels(train, pixels, "train.csv"), "test": check_pixels(test, pixels, "test.csv")}
        balance = label_balance(train["label"])

    with timed("features", timings):
        train = add_features(train, pixels)
        test = add_features(test, pixels)
        candidates = [c for c in train.columns if c not in ("label", "id")]
        columns = select_features(train, candidates, config.min_feature_variance)

    fit_part, valid_part = train_test_split(train, test_size=config.valid_share, random_state=config.seed,
                                            stratify=train["label"])

    with timed("baselines", timings):
        baselines = baseline_scores(fit_part, valid_part, columns)

    with timed("validation", timings):
        report, matrix = evaluate_split(config, fit_part, valid_part, columns)
    log.info("validation accuracy %.4f", report["valid_accuracy"])

    with timed("cross_validation", timings):
        cv = cross_validate(config, train, columns)

    with timed("learning_curve", timings):
        curve = learning_curve(config, fit_part, valid_part, columns)

    with timed("final_fit", timings):
        predicted, _ = fit_predict(config, train, test, columns)
        write_predictions(test, predicted)

    errors = per_class_errors(valid_part["label"].to_numpy(), fit_predict(config, fit_part, valid_part, columns)[0])
    errors.to_csv(output_dir / "per_class_errors.csv", index=False)
    save_confusion(output_dir / "confusion_matrix.csv", matrix)
    save_json(output_dir / "report.json", {"config": asdict(config), "data_quality": quality,
                                           "label_balance": balance, "baselines": baselines,
                                           "environment": describe_environment(), "validation": report,
                                           "cross_validation": cv, "learning_curve": curve, "timings": timings})
    (output_dir / "summary.md").write_text(markdown_summary(config, report, cv, curve, timings), encoding="utf-8")
    if config.plots:
        plot_confusion(output_dir / "confusion_matrix.png", matrix)
        plot_learning_curve(output_dir / "learning_curve.png", curve)
    append_run(output_dir / "runs.jsonl", config, report, cv)
    print(f"trained on {len(train)} rows, predicted {len(test)}")


if __name__ == "__main__":
    main()
