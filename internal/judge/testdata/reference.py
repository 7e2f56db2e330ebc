#!/usr/bin/env python3
"""Write reference.json: Mann-Whitney U statistics and p-values computed by SciPy.

The Go tests in internal/judge compare judge.MannWhitney against these values. Every case
names its inputs in "samples" (x plays the canary, y the baseline), stored once per sample
set because each set is tested with all three alternatives.

Run from this directory (needs python3-scipy, e.g. `apt-get install -y python3-scipy`):

    python3 reference.py > reference.json
"""
import json
import sys

import numpy as np
import scipy
from scipy.stats import mannwhitneyu

ALTERNATIVES = ("two-sided", "greater", "less")


def normal(seed, n, loc=0.0, scale=1.0):
    return np.random.RandomState(seed).normal(loc, scale, n).tolist()


def lognormal(seed, n, mean=0.0, sigma=1.0):
    return np.random.RandomState(seed).lognormal(mean, sigma, n).tolist()


def rounded(seed, n, loc=0.0, scale=1.0, decimals=0):
    """Normal samples rounded so that many values tie."""
    return np.round(np.random.RandomState(seed).normal(loc, scale, n), decimals).tolist()


def integers(seed, n, low, high):
    return np.random.RandomState(seed).randint(low, high, n).astype(float).tolist()


# name -> (x, y); x plays the canary, y the baseline.
SAMPLES = {
    "normal-5-5-same": (normal(1, 5), normal(2, 5)),
    "normal-8-8-shift": (normal(3, 8, 1.5), normal(4, 8)),
    "normal-10-10-same": (normal(5, 10), normal(6, 10)),
    "normal-20-30-shift": (normal(7, 20, 0.8), normal(8, 30)),
    "normal-50-50-small-shift": (normal(9, 50, 0.2), normal(10, 50)),
    "normal-100-80-negative-shift": (normal(11, 100, -0.5), normal(12, 80)),
    "normal-500-500-same": (normal(13, 500), normal(14, 500)),
    "normal-2000-2000-tiny-shift": (normal(15, 2000, 0.05), normal(16, 2000)),
    "normal-2000-7-shift": (normal(17, 2000, 1.0), normal(18, 7)),
    "lognormal-30-30-latency": (lognormal(19, 30, 0.3, 0.5), lognormal(20, 30, 0.0, 0.5)),
    "lognormal-1000-1200-heavy": (lognormal(21, 1000, 0.1, 1.5), lognormal(22, 1200, 0.0, 1.5)),
    "rounded-15-15-ties": (rounded(23, 15, 0.5), rounded(24, 15)),
    "rounded-200-150-many-ties": (rounded(25, 200, 0.3, 2.0), rounded(26, 150, 0.0, 2.0)),
    "integers-40-40-heavy-ties": (integers(27, 40, 0, 4), integers(28, 40, 0, 4)),
    "integers-6-6-ties-small": (integers(29, 6, 0, 3), integers(30, 6, 0, 3)),
    "all-equal-12-12": ([1.0] * 12, [1.0] * 12),
    "separated-10-10": ([float(i) for i in range(10, 20)], [float(i) for i in range(10)]),
}

# Small tie-free samples, where SciPy's default method is the exact distribution.
EXACT = {
    "exact-3-4": (normal(31, 3, 1.0), normal(32, 4)),
    "exact-5-5-same": SAMPLES["normal-5-5-same"],
    "exact-8-8-shift": SAMPLES["normal-8-8-shift"],
    "exact-4-30": (normal(33, 4, -0.7), normal(34, 30)),
    "exact-7-12-separated": ([float(i) for i in range(20, 27)], [float(i) for i in range(12)]),
}


def case(name, x, y, alternative, method):
    res = mannwhitneyu(x, y, alternative=alternative, method=method, use_continuity=True)
    return {
        "name": f"{name}/{alternative}/{method}",
        "samples": name,
        "alternative": alternative,
        "method": method,
        "u": float(res.statistic),
        "p": float(res.pvalue),
    }


def main():
    cases = []
    samples = {name: {"x": x, "y": y} for name, (x, y) in {**SAMPLES, **EXACT}.items()}
    for name, (x, y) in SAMPLES.items():
        for alt in ALTERNATIVES:
            cases.append(case(name, x, y, alt, "asymptotic"))
    for name, (x, y) in EXACT.items():
        for alt in ALTERNATIVES:
            cases.append(case(name, x, y, alt, "exact"))
            cases.append(case(name, x, y, alt, "auto"))
    out = {"scipy": scipy.__version__, "numpy": np.__version__, "cases": cases,
           "samples": samples}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
