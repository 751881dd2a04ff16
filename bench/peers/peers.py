#!/usr/bin/env python3
"""Runs the anomaly detectors a Sheepdog user would pick instead on the shared
labelled series and writes each one's per-point flags, one file per series:

    OUT/<peer>/<series file>   timestamp,is_anomaly   (one row per input row)

`sheepdog eval --external <peer>=OUT/<peer>` then scores them with the same
scorer as Sheepdog's own detectors (event F1, false alarms per day, the
early-detection event score). bench/peers/run.sh does both.

Each peer is run the way its documentation shows, with its documented
defaults; the rolling robust z-score is run at several thresholds so the best
one can be reported ("well tuned", on the very data it is scored on, which
favours it).
"""

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import pandas as pd


def read_series(path):
    df = pd.read_csv(path)
    return df["timestamp"].to_numpy(dtype=np.int64), df["value"].to_numpy(dtype=float)


def write_flags(path, times, flags):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "is_anomaly"])
        for t, a in zip(times, flags):
            w.writerow([int(t), 1 if a else 0])


def robust_z(values, interval, k):
    """Causal rolling robust z-score: median and MAD of the past day."""
    window = max(30, int(round(86400 / interval)))
    s = pd.Series(values)
    past = s.shift(1).rolling(window, min_periods=30)
    med = past.median()
    mad = (s.shift(1) - med).abs().rolling(window, min_periods=30).median() * 1.4826
    z = (s - med).abs() / mad.replace(0, np.nan)
    return (z > k).fillna(False).to_numpy()


def half_space_trees(values, interval):
    """river's HalfSpaceTrees behind a MinMaxScaler, with its QuantileFilter
    (q = 0.995) turning scores into flags; score, then learn, point by point."""
    from river import anomaly, compose, preprocessing

    model = anomaly.QuantileFilter(
        compose.Pipeline(preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees(seed=42)), q=0.995
    )
    flags = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if math.isnan(v):
            continue
        x = {"value": float(v)}
        score = model.score_one(x)
        flags[i] = bool(model.classify(score))
        model.learn_one(x)
    return flags


def luminol_bitmap(times, values):
    """luminol's AnomalyDetector with its defaults (bitmap detector); every
    point inside a reported anomaly window is flagged."""
    if not hasattr(np, "asscalar"):
        # luminol 0.4 (its last release) still calls numpy.asscalar, removed in
        # numpy 1.23; ndarray.item is what it was an alias of.
        np.asscalar = lambda a: np.asarray(a).item()
    from luminol.anomaly_detector import AnomalyDetector

    ts = {int(t): float(v) for t, v in zip(times, values) if not math.isnan(v)}
    flags = np.zeros(len(values), dtype=bool)
    for a in AnomalyDetector(ts).get_anomalies():
        flags |= (times >= a.start_timestamp) & (times <= a.end_timestamp)
    return flags


def adtk_default(times, values):
    """adtk's PersistAD and LevelShiftAD (documented defaults: c=3 and c=6,
    window 5), OR-ed."""
    from adtk.data import validate_series
    from adtk.detector import LevelShiftAD, PersistAD

    s = validate_series(pd.Series(values, index=pd.to_datetime(times, unit="s")))
    s = s.interpolate(limit_direction="both")
    out = np.zeros(len(values), dtype=bool)
    for det in (PersistAD(c=3.0, side="both"), LevelShiftAD(c=6.0, side="both", window=5)):
        try:
            a = det.fit_detect(s)
        except Exception:  # a constant series has no spread to judge
            continue
        out |= a.fillna(False).astype(bool).to_numpy()
    return out


def rrcf_stream(values, shingle=4, trees=40, tree_size=256):
    """Robust random cut forest on shingles, streaming; a point is flagged
    when its collusive displacement exceeds the 99.5th percentile of the
    displacements seen so far (rrcf has no threshold of its own)."""
    import rrcf

    forest = [rrcf.RCTree() for _ in range(trees)]
    filled = np.nan_to_num(values, nan=np.nanmedian(values) if np.isfinite(values).any() else 0.0)
    flags = np.zeros(len(values), dtype=bool)
    seen = []
    for i in range(shingle - 1, len(values)):
        point = filled[i - shingle + 1 : i + 1]
        score = 0.0
        for tree in forest:
            if len(tree.leaves) > tree_size:
                tree.forget_point(i - tree_size)
            tree.insert_point(point, index=i)
            score += tree.codisp(i) / trees
        if len(seen) >= 100:
            flags[i] = score > np.percentile(seen[-5000:], 99.5)
        seen.append(score)
    return flags


def merlion_default(times, values):
    """Merlion's DefaultDetector, trained on the first 30 % of the series (its
    post-rule calibrates and thresholds the scores), then run on the rest."""
    from merlion.models.defaults import DefaultDetector, DefaultDetectorConfig
    from merlion.utils import TimeSeries

    idx = pd.to_datetime(times, unit="s")
    df = pd.DataFrame({"value": values}, index=idx).interpolate(limit_direction="both")
    split = max(50, int(len(df) * 0.3))
    model = DefaultDetector(DefaultDetectorConfig())
    model.train(TimeSeries.from_pd(df.iloc[:split]))
    labels = model.get_anomaly_label(TimeSeries.from_pd(df.iloc[split:])).to_pd()
    flags = np.zeros(len(values), dtype=bool)
    flags[split:] = labels.iloc[:, 0].to_numpy() != 0
    return flags


PEERS = {
    "hst": lambda t, v, iv: half_space_trees(v, iv),
    "luminol": lambda t, v, iv: luminol_bitmap(t, v),
    "adtk": lambda t, v, iv: adtk_default(t, v),
    "rrcf": lambda t, v, iv: rrcf_stream(v),
    "merlion": lambda t, v, iv: merlion_default(t, v),
    "robustz-3.5": lambda t, v, iv: robust_z(v, iv, 3.5),
    "robustz-5": lambda t, v, iv: robust_z(v, iv, 5),
    "robustz-7": lambda t, v, iv: robust_z(v, iv, 7),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", default="../shared/datasets/manifest.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--every", type=int, default=1, help="only every k-th series (as sheepdog eval --every)")
    args = ap.parse_args()

    with open(args.manifest) as f:
        manifest = json.load(f)
    base = os.path.dirname(args.manifest)
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            sys.exit(f"unknown peer {p}; known: {', '.join(PEERS)}")
    took = {p: 0.0 for p in peers}
    points = 0
    for i, entry in enumerate(manifest["series"]):
        if args.every > 1 and i % args.every:
            continue
        times, values = read_series(os.path.join(base, entry["file"]))
        points += len(values)
        for p in peers:
            start = time.process_time()
            try:
                flags = PEERS[p](times, values, entry.get("interval_seconds") or 60)
            except Exception as e:  # a peer that cannot run a series flags nothing there
                print(f"{p} on {entry['file']}: {type(e).__name__}: {e}", file=sys.stderr)
                flags = np.zeros(len(values), dtype=bool)
            took[p] += time.process_time() - start
            write_flags(os.path.join(args.out, p, entry["file"]), times, flags)
        print(f"{entry['file']} done", file=sys.stderr)
    for p in peers:
        print(f"{p}: {points / max(took[p], 1e-9):,.0f} points/s CPU", file=sys.stderr)


if __name__ == "__main__":
    main()
