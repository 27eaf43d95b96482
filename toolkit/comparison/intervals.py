"""Uncertainty: 95% intervals over training seeds and over samples, and when two figures separate.

A difference between two rows is a finding only when it is larger than what another seed
or another draw of samples would change, so every figure a verdict rests on carries an interval:

* held-out bits per character over K training seeds: mean ± Student t, ``t(0.975, K-1) * s / sqrt(K)``
  with ``s`` the sample standard deviation (`seed_interval`); one run has no interval, and a model
  built in one deterministic pass (a Markov chain's count) has an exact figure, width 0;
* sample metrics (distinct-n, self-BLEU, copy rate) by a percentile bootstrap over the samples
  (`BOOTSTRAP_RESAMPLES` resamples, numpy generator seeded with `BOOTSTRAP_SEED`, so a report
  reproduces). Each metric is written as a sum over samples of a numerator and a denominator
  (`sample_shares`), so a resample that draws a sample twice does not count its n-grams as
  repeats; with several seeds the samples are resampled within each seed's model and the
  metric is the mean of the seeds' figures (`bootstrap`).

Two figures separate (`separated`) when their intervals do not overlap; a single run's
interval is unknown, and then nothing separates.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..evaluation.metrics import bleu, ngrams, words

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
SEED_METHOD = "mean over training seeds ± Student t 95% interval (t(0.975, K-1) * sd / sqrt(K))"
BOOTSTRAP_METHOD = (f"percentile bootstrap over samples, 95%, {BOOTSTRAP_RESAMPLES} resamples, "
                    f"numpy seed {BOOTSTRAP_SEED}; with several seeds, samples resampled within each seed's model "
                    "and the seeds' figures averaged")
#: Sample metrics with a bootstrap interval: the `TemperatureResult` field each one is.
SAMPLE_METRICS = ("distinct_1", "distinct_2", "distinct_3", "self_bleu", "ngram_overlap")
#: (numerators, denominators) per sample: the metric is sum(numerators) / sum(denominators).
Shares = tuple[np.ndarray, np.ndarray]


def t_quantile(df: int) -> float:
    """The Student t quantile of a two-sided 95% interval with ``df`` degrees of freedom."""
    from scipy.stats import t  # scipy comes with scikit-learn, compare's extra

    return float(t.ppf(0.5 + CONFIDENCE / 2, df))


def seed_interval(values: Sequence[float], exact: bool = False) -> dict[str, Any]:
    """Mean and 95% Student t interval of a figure over training seeds.

    ``low``/``high`` are None for one run (its spread over seeds is unknown), unless ``exact``:
    a figure that no seed changes (a deterministic build), whose interval is the point itself.
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("seed_interval needs at least one value")
    mean = statistics.fmean(values)
    found: dict[str, Any] = {"mean": mean, "n": len(values), "values": values, "method": SEED_METHOD}
    if exact:
        return {**found, "low": mean, "high": mean, "half_width": 0.0,
                "method": "exact: a deterministic build, the same for every seed"}
    if len(values) < 2:
        return {**found, "low": None, "high": None, "half_width": None}
    half = t_quantile(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return {**found, "low": mean - half, "high": mean + half, "half_width": half}


def separated(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when two intervals (dicts with ``low`` and ``high``) do not overlap; False when either is unknown."""
    if a.get("low") is None or b.get("low") is None:
        return False
    return a["high"] < b["low"] or b["high"] < a["low"]


def _distinct_shares(texts: Sequence[str], n: int) -> Shares:
    """Each n-gram occurrence counts 1/(its count in the pool): summed over samples, the unique n-grams."""
    grams = [ngrams(words(text), n) for text in texts]
    counts = Counter(g for sample in grams for g in sample)
    return (np.array([sum(1 / counts[g] for g in sample) for sample in grams]),
            np.array([float(len(sample)) for sample in grams]))


def _self_bleu_shares(texts: Sequence[str]) -> Shares:
    tokenised = [words(t) for t in texts]
    scores = [bleu(h, tokenised[:i] + tokenised[i + 1 :]) for i, h in enumerate(tokenised)]
    return np.array(scores), np.ones(len(scores))


def sample_shares(rows: Sequence[Mapping[str, Any]]) -> dict[str, Shares]:
    """Per-sample numerators and denominators of each `SAMPLE_METRICS` metric, from a sweep's sample rows.

    Their sums give back the figures `sweep.sample_temperature` computes (distinct-n pooled,
    self-BLEU and copy rate as means over samples; a sample without an overlap figure is left out).
    """
    texts = [str(row["text"]) for row in rows]
    shares = {f"distinct_{n}": _distinct_shares(texts, n) for n in (1, 2, 3)}
    if len(texts) > 1:
        shares["self_bleu"] = _self_bleu_shares(texts)
    overlap = [row.get("ngram_overlap") for row in rows]
    shares["ngram_overlap"] = (np.array([v or 0.0 for v in overlap]),
                               np.array([0.0 if v is None else 1.0 for v in overlap]))
    return shares


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    total = den.sum(axis=-1)
    return np.divide(num.sum(axis=-1), total, out=np.zeros_like(total, dtype=float), where=total > 0)


def bootstrap(groups: Sequence[Shares], resamples: int = BOOTSTRAP_RESAMPLES,
              seed: int = BOOTSTRAP_SEED) -> dict[str, Any]:
    """Percentile 95% interval of a metric over samples: ``groups`` holds one seed's model's shares each.

    The figure is the mean over groups of sum(num) / sum(den); each resample draws every group's
    samples with replacement, within the group. Fixed ``seed``: the same interval on every run.
    """
    rng = np.random.default_rng(seed)
    point = float(np.mean([_ratio(num, den) for num, den in groups]))
    draws = np.zeros(resamples)
    for num, den in groups:
        picks = rng.integers(0, len(num), size=(resamples, len(num)))
        draws += _ratio(num[picks], den[picks])
    draws /= len(groups)
    low, high = np.quantile(draws, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return {"mean": point, "low": float(low), "high": float(high), "method": BOOTSTRAP_METHOD}


def sample_intervals(seed_rows: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Bootstrap intervals of every sample metric, from each seed's model's sample rows at one temperature."""
    shares = [sample_shares(rows) for rows in seed_rows if rows]
    return {metric: bootstrap([s[metric] for s in shares]) for metric in SAMPLE_METRICS
            if shares and all(metric in s for s in shares)}


def plus_minus(interval: Mapping[str, Any] | None, digits: int = 3) -> str:
    """``2.168 ± 0.021`` (a seed interval), ``2.188`` (exact or one run), or ``0.98 [0.95, 0.99]`` (bootstrap)."""
    if not interval:
        return "-"
    mean = interval["mean"]
    if interval.get("low") is None or interval.get("half_width") == 0.0:
        return f"{mean:.{digits}f}"
    if "half_width" in interval:
        return f"{mean:.{digits}f} ± {interval['half_width']:.{digits}f}"
    return f"{mean:.{digits}f} [{interval['low']:.{digits}f}, {interval['high']:.{digits}f}]"
