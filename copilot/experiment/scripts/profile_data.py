"""Copilot's own data profiler, run in the sandbox when the model's profiling script fails: for every data file
under the current folder (csv, tsv, json, jsonl, parquet, npy), its shape, columns and types, missing values, and the
distribution of the column that most likely is the target. Prints plain text; reads only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TARGET_NAMES = ("label", "labels", "target", "y", "class", "intent", "category", "sales", "price", "value")
SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet", ".npy")
MAX_FILES = 20


def load(path: Path) -> pd.DataFrame | np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix in (".json", ".jsonl"):
        return pd.read_json(path, lines=path.suffix == ".jsonl")
    return pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")


def describe(frame: pd.DataFrame) -> None:
    print(f"  shape: {frame.shape[0]} rows x {frame.shape[1]} columns")
    types = frame.dtypes.astype(str).value_counts().to_dict()
    print(f"  column types: {types}")
    shown = list(frame.columns[:12])
    print(f"  columns: {shown}{' ...' if frame.shape[1] > 12 else ''}")
    missing = frame.isna().sum()
    missing = missing[missing > 0]
    print(f"  missing values: {missing.to_dict() if len(missing) else 'none'}")
    target = next((c for c in frame.columns if str(c).lower() in TARGET_NAMES), None)
    if target is None:
        return
    column = frame[target]
    if column.dtype == object or column.nunique() <= 30:
        print(f"  target {target!r} value counts: {column.value_counts().head(30).to_dict()}")
    else:
        print(f"  target {target!r}: {column.describe().round(4).to_dict()}")


def main() -> None:
    files = sorted(p for p in Path(".").rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()
                   and not any(part.startswith(".") for part in p.parts))
    if not files:
        print("no data files (csv, tsv, json, jsonl, parquet, npy) in the workspace")
        return
    for path in files[:MAX_FILES]:
        print(f"{path} ({path.stat().st_size:,} bytes)")
        try:
            data = load(path)
        except Exception as error:  # any unreadable file is reported and skipped
            print(f"  could not be read: {type(error).__name__}: {error}")
            continue
        if isinstance(data, np.ndarray):
            print(f"  array shape {data.shape}, dtype {data.dtype}")
        else:
            describe(data)
    if len(files) > MAX_FILES:
        print(f"... and {len(files) - MAX_FILES} more data files")


if __name__ == "__main__":
    main()
