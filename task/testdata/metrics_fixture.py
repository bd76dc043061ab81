"""Writes metrics.json: random predictions and golds with their metrics
computed by NumPy through formulas other than the ones task/metrics.go uses
(binary MCC as the Pearson correlation of 0/1 vectors, multi-class MCC as
the covariance of one-hot matrices, F1 from precision and recall, Spearman
ranks by counting). Run from task/testdata: /usr/bin/python3 metrics_fixture.py
"""
import json

import numpy as np


def ranks(x):
    x = np.asarray(x, dtype=np.float64)
    less = (x[None, :] < x[:, None]).sum(axis=1)
    equal = (x[None, :] == x[:, None]).sum(axis=1)
    return less + (equal + 1) / 2.0


def mcc_onehot(p, g, k):
    P = np.eye(k)[p]
    G = np.eye(k)[g]
    P = P - P.mean(axis=0)
    G = G - G.mean(axis=0)
    return float((P * G).sum() / np.sqrt((P * P).sum() * (G * G).sum()))


def f1_pr(p, g):
    tp = float(np.sum((p == 1) & (g == 1)))
    prec = tp / np.sum(p == 1)
    rec = tp / np.sum(g == 1)
    return float(2 * prec * rec / (prec + rec))


rng = np.random.default_rng(20190201)
cases = []
for n, k, agree in [(37, 2, 0.7), (200, 2, 0.55), (120, 3, 0.6), (90, 5, 0.4), (64, 2, 0.9)]:
    g = rng.integers(0, k, n)
    p = np.where(rng.random(n) < agree, g, rng.integers(0, k, n))
    case = {"kind": "class", "classes": k, "preds": p.tolist(), "golds": g.tolist(),
            "accuracy": float(np.mean(p == g)), "mcc": mcc_onehot(p, g, k)}
    if k == 2:
        case["f1"] = f1_pr(p, g)
        case["mcc_binary_corrcoef"] = float(np.corrcoef(p, g)[0, 1])
    cases.append(case)
for n, noise, step in [(50, 0.5, 0.0), (300, 1.5, 0.2), (80, 3.0, 1.0)]:
    g = rng.uniform(0, 5, n)
    p = g + rng.normal(0, noise, n)
    if step:  # rounding creates ties, as in STS-B's scores
        g = np.round(g / step) * step
        p = np.round(p / step) * step
    cases.append({"kind": "regression", "preds": p.tolist(), "golds": g.tolist(),
                  "pearson": float(np.corrcoef(p, g)[0, 1]),
                  "spearman": float(np.corrcoef(ranks(p), ranks(g))[0, 1])})

with open("metrics.json", "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases}, f)
