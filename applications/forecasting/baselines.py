"""Baselines evaluated on exactly the model's test windows (the same origins, same horizon).

- persistence: the last observed value, repeated over the horizon;
- seasonal naive: the value one season before each target step;
- SARIMA(X) and Holt-Winters exponential smoothing from statsmodels' state-space models.

The statistical models are fitted once, on the end of the training span (``fit_rows`` rows, so
hourly series fit in tens of seconds instead of many minutes), then their Kalman filter is run on
over the rest of the series with the fitted parameters fixed (``results.extend``): the state
predicted at every origin gives that origin's forecasts, for all origins at once, with no refit
and no look at data after the origin.

All functions take the raw target series ``y`` ([rows], NaN where missing) and origins (index of
the last observed row) and return forecasts shaped [origins, horizon].
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np
import pandas as pd

log = logging.getLogger("keras_applied.forecasting")

# Holt-Winters keeps one state per season step; above this the seasonal component is left out.
MAX_SEASONAL_STATES = 60


def persistence(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """[n, horizon]: y[t] for every step after origin t."""
    return np.repeat(np.asarray(y, float)[origins][:, None], horizon, axis=1)


def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """[n, horizon]: y[t + h - k * season] with the smallest k >= 1 that reaches back to t or
    before; where that value is missing, the persistence forecast is used instead."""
    y = np.asarray(y, float)
    steps = np.arange(1, horizon + 1)
    lags = season * np.ceil(steps / season).astype(int)  # >= h, a multiple of the season
    index = origins[:, None] + steps[None, :] - lags[None, :]
    forecast = np.where(index >= 0, y[np.maximum(index, 0)], np.nan)
    fallback = persistence(y, origins, horizon)
    return np.where(np.isfinite(forecast), forecast, fallback)


def drift_free_mean(y_train: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """[n, horizon]: the training mean everywhere (the unconditional forecast)."""
    return np.full((len(origins), horizon), float(np.nanmean(y_train)))


def _forecasts_from_states(results, origins: np.ndarray, fit_end: int, horizon: int, offset: float) -> np.ndarray:
    """Multi-step forecasts from the one-step-ahead predicted states of an extended filter.

    ``results.predicted_state[:, j]`` is the state for row ``fit_end + j`` given rows up to
    ``fit_end + j - 1``; from origin t the h-step forecast is Z T^(h-1) a_{t+1|t} (+ intercepts).
    """
    ssm = results.model.ssm
    design = np.asarray(ssm["design"])[..., 0] if np.ndim(ssm["design"]) == 3 else np.asarray(ssm["design"])
    transition = np.asarray(ssm["transition"])
    transition = transition[..., 0] if transition.ndim == 3 else transition
    state_intercept = np.asarray(ssm["state_intercept"])
    state_intercept = state_intercept[:, 0] if state_intercept.ndim == 2 else state_intercept
    obs_intercept = np.asarray(ssm["obs_intercept"])
    obs_intercept = float(obs_intercept.ravel()[0]) if obs_intercept.size else 0.0
    columns = origins + 1 - fit_end
    if np.any(columns < 0):
        raise ValueError("Statistical baselines forecast only origins at or after the end of the fit span.")
    state = np.asarray(results.predicted_state)[:, columns]  # [k, n]
    forecasts = np.empty((len(origins), horizon))
    for step in range(horizon):
        forecasts[:, step] = (design @ state)[0] + obs_intercept + offset
        state = transition @ state + state_intercept[:, None]
    return forecasts


def initial_states(sample: np.ndarray, trend: bool, season: int | None) -> dict:
    """Holt-Winters initial level, trend and seasonal factors from the whole fit sample: the
    first cycle's mean, the slope over the first two cycles, and each phase's mean deviation
    from its cycle's mean (statsmodels' "simple" method uses the first two cycles only, which
    on PM2.5 left a wild seasonal pattern the fit could not unlearn)."""
    cycle = season or 1
    states = {"initial_level": float(np.mean(sample[:cycle]))}
    if trend:
        span = min(len(sample), max(2 * cycle, 10))
        states["initial_trend"] = float(np.polyfit(np.arange(span), sample[:span], 1)[0])
    if season:
        cycles = sample[: len(sample) // season * season].reshape(-1, season)
        factors = (cycles - cycles.mean(axis=1, keepdims=True)).mean(axis=0)
        states["initial_seasonal"] = factors[::-1]  # the state holds lags L0 .. L(s-1)
    return states


def extension_options(kind: str, model) -> dict:
    """Model options for ``extend``: Holt-Winters is cloned with placeholder 'known' initial
    states (``extend`` replaces them with the fitted filter's last state), so the clone does not
    try to compute initial states from the new data, which may be short or gappy."""
    if kind != "holt_winters":
        return {}
    options = {"initialization_method": "known", "initial_level": 0.0}
    if model.trend:
        options["initial_trend"] = 0.0
    if model.seasonal:
        options["initial_seasonal"] = np.zeros(model.seasonal_periods)
    return options


def statespace_forecasts(
    y: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    *,
    fit_end: int,
    kind: str,
    order: tuple[int, int, int] = (1, 0, 1),
    seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0),
    season: int = 1,
    fit_rows: int = 0,
    maxiter: int = 50,
) -> tuple[np.ndarray, dict]:
    """Fit ``kind`` ('sarima' or 'holt_winters') on rows [fit_end - fit_rows, fit_end) and
    forecast every origin (>= fit_end - 1) without refitting. Returns (forecasts, info)."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    y = np.asarray(y, float)
    fit_start = max(0, fit_end - fit_rows) if fit_rows else 0
    sample = y[fit_start:fit_end]
    differenced = order[1] > 0 or seasonal_order[1] > 0
    # A stationary ARMA needs the mean removed (a constant would sit in a time-varying intercept).
    offset = 0.0 if differenced or kind == "holt_winters" else float(np.nanmean(sample))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == "sarima":
            from statsmodels.tsa.statespace.sarimax import SARIMAX

            model = SARIMAX(sample - offset, order=order, seasonal_order=seasonal_order, concentrate_scale=True)
            name = f"SARIMA{tuple(order)}x{tuple(seasonal_order)}" if any(seasonal_order) else f"ARIMA{tuple(order)}"
        elif kind == "holt_winters":
            from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

            seasonal = season if 1 < season <= MAX_SEASONAL_STATES else None
            # Initial states computed here and fixed ("known"), so `extend` continues from the
            # fitted filter's last state (the default concentrated initialisation would be
            # recomputed from the new data). Gaps inside the fit sample are interpolated for it
            # (all within the training span).
            filled = pd.Series(sample).interpolate(limit_direction="both").to_numpy()
            model = ExponentialSmoothing(filled, trend=differenced, seasonal=seasonal, initialization_method="known",
                                         **initial_states(filled, differenced, seasonal))
            name = f"Holt-Winters(trend={differenced}, season={seasonal})"
        else:
            raise ValueError(f"Unknown statistical baseline {kind!r}; expected 'sarima' or 'holt_winters'.")
        fitted = model.fit(disp=False, maxiter=maxiter)
        fit_seconds = time.perf_counter() - started
        extended = fitted.extend(y[fit_end:] - offset, **extension_options(kind, model))
    forecasts = _forecasts_from_states(extended, origins, fit_end, horizon, offset)
    info = {
        "name": name,
        "fit_rows": len(sample),
        "fit_seconds": round(fit_seconds, 2),
        "forecast_seconds": round(time.perf_counter() - started - fit_seconds, 2),
        "converged": bool(fitted.mle_retvals.get("converged", False)) if fitted.mle_retvals else None,
        "parameters": {str(k): float(v) for k, v in zip(fitted.param_names, np.asarray(fitted.params))},
    }
    log.info("%s fitted on %d rows in %.1f s; forecasts in %.1f s", name, len(sample), fit_seconds, info["forecast_seconds"])
    return forecasts, info


def ewma_volatility(returns: np.ndarray, origins: np.ndarray, decay: float = 0.94) -> np.ndarray:
    """RiskMetrics volatility at each origin: sqrt of the EWMA of squared returns up to t."""
    returns = np.nan_to_num(np.asarray(returns, float))
    variance = np.empty(len(returns))
    running = float(np.mean(returns[: min(len(returns), 20)] ** 2))
    for index, value in enumerate(returns):
        running = decay * running + (1 - decay) * value**2
        variance[index] = running
    return np.sqrt(variance[origins])


def rolling_volatility(returns: np.ndarray, origins: np.ndarray, window: int = 20) -> np.ndarray:
    """Standard deviation of the ``window`` returns up to and including each origin."""
    returns = np.asarray(returns, float)
    return np.array([np.nanstd(returns[max(0, t - window + 1): t + 1]) for t in origins])
