"""Summaries of one metric over many trials: mean with a 95% interval, quantiles, the empirical CDF."""

import math

# Student's t quantile t(0.975, df) for small samples; the normal 1.96 beyond the table.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t975(df):
    if df <= 0:
        return float("nan")
    for k in sorted(_T975):
        if df <= k:
            return _T975[k]
    return 1.960


def quantile(sorted_values, q):
    """The q-quantile by linear interpolation between order statistics (numpy's default)."""
    n = len(sorted_values)
    if n == 0:
        return None
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(values, cdf_points=101):
    """`values`: one metric's value per trial (None = the trial did not reach it, e.g. no new leader before the
    trial's limit). Returns counts, mean and its 95% interval, quantiles and the CDF (at most `cdf_points`)."""
    got = sorted(v for v in values if v is not None)
    n = len(got)
    out = {"trials": len(values), "n": n, "missing": len(values) - n}
    if n == 0:
        return out
    mean = sum(got) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in got) / (n - 1)) if n > 1 else 0.0
    half = t975(n - 1) * sd / math.sqrt(n) if n > 1 else None
    out.update({
        "mean": mean, "sd": sd, "ci95": [mean - half, mean + half] if half is not None else None,
        "min": got[0], "median": quantile(got, 0.5), "p90": quantile(got, 0.9), "p99": quantile(got, 0.99),
        "max": got[-1],
    })
    step = max(1, n // (cdf_points - 1))
    idx = list(range(0, n, step))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    out["cdf"] = [[got[i], (i + 1) / len(values)] for i in idx]  # fraction of ALL trials at or below the value
    return out
