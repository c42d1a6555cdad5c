"""Straight-line calibration curves y = a + b·x, ordinary or weighted, and read-back of x from y.

Fitted with ``scipy.optimize.curve_fit``. With weights wᵢ (e.g. 1/sᵢ²) normalised so that
Σwᵢ = n, the read-back uncertainty follows Miller & Miller, *Statistics and Chemometrics for
Analytical Chemistry* (6th ed., §5.9 and §5.10):

    s_x0 = (s_y/x / b) · √(1/(m·w0) + 1/n + (y0 − ȳw)² / (b² · (Σwᵢxᵢ² − n·x̄w²)))

where m is the number of replicate readings of y0 and w0 the weight at y0 (1 when unweighted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from calibration.report import clean


def _line(x, a, b):
    return a + b * x


@dataclass(frozen=True)
class CurveFit:
    intercept: float
    slope: float
    r2: float
    s_yx: float                 # residual standard error (weighted when weights were given)
    se_intercept: float
    se_slope: float
    residuals: tuple[float, ...]
    n: int
    weighted: bool
    _x: tuple[float, ...]
    _w: tuple[float, ...]        # normalised weights (Σw = n)

    @property
    def r(self) -> float:
        return float(np.sign(self.slope) * np.sqrt(self.r2))

    def predict(self, x: float | np.ndarray) -> float | np.ndarray:
        return self.intercept + self.slope * np.asarray(x, dtype=float)

    def read_back(self, y0: float, *, replicates: int = 1, weight: float = 1.0,
                  confidence: float = 0.95) -> dict[str, float]:
        """x0 from a measured y0, its standard error and confidence interval."""
        if self.slope == 0:
            raise ValueError("slope is zero: x cannot be read back")
        if replicates < 1 or weight <= 0:
            raise ValueError("replicates must be ≥ 1 and weight > 0")
        x = np.asarray(self._x)
        w = np.asarray(self._w)
        xw = float(np.sum(w * x) / self.n)
        yw = float(self.intercept + self.slope * xw)
        sxx = float(np.sum(w * x * x) - self.n * xw * xw)
        x0 = (y0 - self.intercept) / self.slope
        s_x0 = (self.s_yx / abs(self.slope)) * np.sqrt(
            1.0 / (replicates * weight) + 1.0 / self.n
            + (y0 - yw) ** 2 / (self.slope ** 2 * sxx))
        t = float(stats.t.ppf(0.5 + confidence / 2, self.n - 2))
        return clean({"y0": y0, "x0": float(x0), "s_x0": float(s_x0), "t": t,
                      "confidence": confidence, "ci_low": float(x0 - t * s_x0),
                      "ci_high": float(x0 + t * s_x0)})

    def to_dict(self) -> dict[str, Any]:
        return clean({"intercept": self.intercept, "slope": self.slope, "r2": self.r2,
                      "r": self.r, "s_yx": self.s_yx, "se_intercept": self.se_intercept,
                      "se_slope": self.se_slope, "residuals": list(self.residuals),
                      "n": self.n, "weighted": self.weighted})


def fit_line(x: Sequence[float], y: Sequence[float],
             weights: Sequence[float] | None = None) -> CurveFit:
    """Least-squares line through (x, y); ``weights`` wᵢ ∝ 1/varianceᵢ for a weighted fit."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    n = len(xa)
    if n != len(ya):
        raise ValueError(f"{n} x values but {len(ya)} y values")
    if n < 3:
        raise ValueError(f"a calibration line needs at least 3 points, got {n}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValueError("x and y must be finite numbers")
    if np.ptp(xa) == 0:
        raise ValueError("all x values are equal: no line can be fitted")
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=float)
        if len(w) != n or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("weights must be one positive number per point")
        w = w * n / w.sum()
    sigma = 1.0 / np.sqrt(w)
    p0 = (float(ya.mean()), 0.0)
    (a, b), cov = optimize.curve_fit(_line, xa, ya, p0=p0, sigma=sigma, absolute_sigma=False)
    resid = ya - (a + b * xa)
    s_yx = float(np.sqrt(np.sum(w * resid ** 2) / (n - 2)))
    yw = float(np.sum(w * ya) / n)
    ss_tot = float(np.sum(w * (ya - yw) ** 2))
    r2 = 1.0 - float(np.sum(w * resid ** 2)) / ss_tot if ss_tot > 0 else 1.0
    return CurveFit(float(a), float(b), r2, s_yx, float(np.sqrt(cov[0, 0])),
                    float(np.sqrt(cov[1, 1])), tuple(float(v) for v in resid), n,
                    weights is not None, tuple(xa.tolist()), tuple(w.tolist()))
