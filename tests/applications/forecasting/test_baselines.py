"""Baselines: naive forecasts by formula, and the fit-once state-space forecasts against statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from applications.forecasting import baselines


def test_persistence_and_seasonal_naive_by_formula():
    y = np.arange(30, dtype=float)
    origins = np.array([23, 26])
    assert baselines.persistence(y, origins, 3).tolist() == [[23, 23, 23], [26, 26, 26]]
    # Season 12, horizon 14: steps 1..12 look back one season, steps 13..14 two seasons.
    forecast = baselines.seasonal_naive(y, origins, 14, 12)
    assert forecast[0, :3].tolist() == [12, 13, 14] and forecast[0, 12:].tolist() == [12, 13]
    gappy = y.copy()
    gappy[12] = np.nan  # a missing seasonal value falls back to persistence
    assert baselines.seasonal_naive(gappy, origins[:1], 2, 12)[0].tolist() == [23, 13]


@pytest.mark.parametrize(
    "kind, options",
    [("sarima", {"order": (1, 0, 1), "seasonal_order": (1, 0, 0, 12)}),
     ("sarima", {"order": (0, 1, 1), "seasonal_order": (0, 1, 1, 12)}),
     ("holt_winters", {"season": 12})],
)
def test_state_space_forecasts_match_statsmodels_forecasts_from_each_origin(kind, options):
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    rng = np.random.default_rng(0)
    steps = np.arange(300)
    y = 10 + 3 * np.sin(2 * np.pi * steps / 12) + 0.05 * np.cumsum(rng.normal(size=300)) + rng.normal(0, 0.5, 300)
    y[250:252] = np.nan  # missing values after the fit span are skipped by the filter
    y[200] = np.nan  # and one inside the fit span
    fit_end, horizon, origins = 240, 6, np.array([239, 260, 293])
    forecasts, info = baselines.statespace_forecasts(y, origins, horizon, fit_end=fit_end, kind=kind, fit_rows=150, **options)
    assert forecasts.shape == (3, horizon) and info["fit_rows"] == 150
    sample = y[fit_end - 150: fit_end]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "sarima":
            differenced = options["order"][1] > 0
            offset = 0.0 if differenced else np.nanmean(sample)
            fitted = SARIMAX(sample - offset, concentrate_scale=True, **options).fit(disp=False, maxiter=50)
        else:
            filled = np.interp(np.arange(150), np.flatnonzero(np.isfinite(sample)), sample[np.isfinite(sample)])
            model = ExponentialSmoothing(filled, trend=False, seasonal=12, initialization_method="known",
                                         **baselines.initial_states(filled, False, 12))
            offset, fitted = 0.0, model.fit(disp=False, maxiter=50)
        options = baselines.extension_options(kind, fitted.model)
        for row, origin in enumerate(origins):
            reference = fitted.extend(y[fit_end: origin + 1] - offset, **options).get_forecast(horizon).predicted_mean \
                + offset if origin >= fit_end else fitted.get_forecast(horizon).predicted_mean + offset
            np.testing.assert_allclose(forecasts[row], reference, rtol=1e-6, atol=1e-6)


def test_volatility_baselines():
    returns = np.r_[np.full(50, 0.01), np.full(50, 0.03)]
    origins = np.array([49, 99])
    rolling = baselines.rolling_volatility(returns * np.resize([1, -1], 100), origins, 20)
    np.testing.assert_allclose(rolling, [0.01, 0.03], rtol=1e-9)
    ewma = baselines.ewma_volatility(returns, origins)
    assert 0.0099 < ewma[0] < 0.0101 and 0.029 < ewma[1] < 0.03  # tracks the new level within 50 days
