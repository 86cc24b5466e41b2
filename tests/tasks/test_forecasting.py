"""Weather test metrics under DDP: per-sample values of every rank are gathered, each (recording, init) once."""

from __future__ import annotations

import numpy as np
import torch

from signalkit.tasks.forecasting import gather_per_init


def _fake_gather(per_rank: list[dict]):
    """Stands in for ``all_gather`` over ranks whose values are given, in call order."""
    calls = iter(range(10**6))

    def gather(t: torch.Tensor) -> torch.Tensor:
        i = next(calls)
        return torch.stack([torch.as_tensor(r[i]) for r in per_rank])

    return gather


def test_gather_keeps_each_init_once_and_matches_one_process():
    rng = np.random.default_rng(0)
    n, v = 7, 2
    times = np.arange(n, dtype=np.int64) * 3600 * 10**9
    mse = rng.random((n, v))
    # DistributedSampler with 2 ranks: 7 samples padded to 8, rank 0 gets 0,2,4,6 and rank 1 gets 1,3,5,0
    idx = [np.array([0, 2, 4, 6]), np.array([1, 3, 5, 0])]
    keys = np.stack([np.zeros(n, np.int64), times], 1)
    ranks = [[keys[i], mse[i]] for i in idx]
    out = gather_per_init({"mse@6": mse[idx[0]]}, keys[idx[0]], _fake_gather(ranks))
    np.testing.assert_array_equal(out["mse@6"], mse)  # all 7, init 0 once, in time order
    rmse_two = np.sqrt(out["mse@6"].mean(0))
    rmse_one = np.sqrt(mse.mean(0))
    np.testing.assert_allclose(rmse_two, rmse_one)
    naive = np.sqrt(np.concatenate([mse[i] for i in idx]).mean(0))  # what double counting would give
    assert not np.allclose(naive, rmse_one)


def test_two_recordings_sharing_init_times_both_count():
    """Two recordings (e.g. two ensemble members or regions) with the same 4 init times: 8 samples,
    padded by the sampler to 10 over 2 ranks; de-duplicating by init time alone would keep 4."""
    rng = np.random.default_rng(1)
    times = np.tile(np.arange(4, dtype=np.int64) * 6 * 3600 * 10**9, 2)
    keys = np.stack([np.repeat([0, 1], 4).astype(np.int64), times], 1)  # (8, 2): rec, init
    mse = rng.random((8, 1))
    idx = [np.array([0, 2, 4, 6, 0]), np.array([1, 3, 5, 7, 1])]
    ranks = [[keys[i], mse[i]] for i in idx]
    out = gather_per_init({"mse@6": mse[idx[0]]}, keys[idx[0]], _fake_gather(ranks))
    np.testing.assert_array_equal(out["mse@6"], mse)  # all 8 once, ordered by (recording, init)
    np.testing.assert_allclose(np.sqrt(out["mse@6"].mean(0)), np.sqrt(mse.mean(0)))


def test_local_term_starts_at_the_one_step_linear_regression():
    """With ``init_local_from_linear`` an untrained model's first step IS the fitted linear forecast."""
    from signalkit.baselines.weather import LinearAnomaly
    from signalkit.config import compose, to_plain
    from signalkit.tasks import WeatherForecastingTask

    cfg = compose("train", ["experiment=weather/regional", "data.store=x", "model.dim=8",
                            "model.backbone.depth=1", "model.backbone.num_blocks=1"])
    h, w = 4, 6
    contract = {"modality": "weather", "variables": ["t2m", "z500"], "history": 2, "step_hours": 6.0,
                "lead_times": [6.0, 12.0], "lat": list(np.linspace(50, 53, h)), "lon": list(np.linspace(0, 5, w)),
                "mask": [[0] * w] * h, "anomalies": True,
                "normalization": {"mean": [0.0, 0.0], "std": [2.0, 50.0], "diff_std": [0.5, 0.8]}}
    task = WeatherForecastingTask(model=to_plain(cfg.model), data_contract=contract)
    rng = np.random.default_rng(0)
    lin = LinearAnomaly(lags=2, n_leads=2)
    hist = rng.normal(size=(64, 2, 2, h, w))
    lin.add(hist, 0.7 * hist[:, [-1, -1]] - 0.2 * hist[:, [0, 0]] + 0.1 * rng.normal(size=(64, 2, 2, h, w)))
    assert task.init_local_linear({"linear": lin.finish(), "lead_steps": [1, 2]})
    x = torch.tensor(rng.normal(size=(3, 2, 2, h, w)), dtype=torch.float32)
    batch = {"x": x, "time": torch.zeros(3, dtype=torch.float64), "lat": torch.tensor(contract["lat"]),
             "lon": torch.tensor(contract["lon"]), "mask": torch.zeros(h, w, dtype=torch.bool)}
    with torch.no_grad():
        nxt = task.step_once(x, batch, batch["time"])
    np.testing.assert_allclose(nxt.numpy(), lin.predict(x.numpy())[:, 0], atol=1e-5)


def _regional_task(contract: dict):
    from signalkit.config import compose, to_plain
    from signalkit.tasks import WeatherForecastingTask

    cfg = compose("train", ["experiment=weather/regional", "data.store=x", "model.dim=8",
                            "model.backbone.depth=1", "model.backbone.num_blocks=1"])
    return WeatherForecastingTask(model=to_plain(cfg.model), data_contract=contract)


def _contract(h: int, w: int, n_vars: int = 1, history: int = 2, diff_std: float = 0.5) -> dict:
    return {"modality": "weather", "variables": [f"v{i}" for i in range(n_vars)], "history": history,
            "step_hours": 1.0, "lead_times": [6.0], "lat": list(np.linspace(50, 53, h)),
            "lon": list(np.linspace(0, 5, w)), "mask": [[0] * w] * h, "anomalies": True,
            "normalization": {"mean": [0.0] * n_vars, "std": [1.0] * n_vars, "diff_std": [diff_std] * n_vars}}


def test_local_term_starts_at_the_separate_one_step_fit():
    """Leads of 6 steps: the start is the data module's ``linear_one_step`` fit, not the 6-step fit,
    and an untrained model's first step reproduces that fit exactly (its correction is zero)."""
    from signalkit.baselines.weather import LinearAnomaly

    h, w = 4, 6
    task = _regional_task(_contract(h, w))
    rng = np.random.default_rng(3)
    hist = rng.normal(size=(64, 2, 1, h, w))
    one, six = LinearAnomaly(lags=2, n_leads=1), LinearAnomaly(lags=2, n_leads=1)
    one.add(hist, 0.9 * hist[:, [-1]] + 0.1 * rng.normal(size=(64, 1, 1, h, w)))
    six.add(hist, 0.3 * hist[:, [-1]] + 0.1 * rng.normal(size=(64, 1, 1, h, w)))
    assert not task.init_local_linear({"linear": six.finish(), "lead_steps": [6]})  # no one-step fit
    assert task.init_local_linear({"linear": six, "lead_steps": [6], "linear_one_step": one.finish()})
    x = torch.tensor(rng.normal(size=(3, 2, 1, h, w)), dtype=torch.float32)
    batch = {"x": x, "time": torch.zeros(3, dtype=torch.float64), "lat": torch.tensor(_contract(h, w)["lat"]),
             "lon": torch.tensor(_contract(h, w)["lon"]), "mask": torch.zeros(h, w, dtype=torch.bool)}
    with torch.no_grad():
        nxt = task.step_once(x, batch, batch["time"])
    np.testing.assert_allclose(nxt.numpy(), one.predict(x.numpy())[:, 0], atol=1e-5)


def test_forecaster_learns_a_per_point_ar1_field():
    """A field whose anomaly follows ``a(t+1) = phi(h, w) a(t) + noise`` (phi from 0.2 to 0.95 over
    the grid, noise std 0.1): trained from zero (persistence), the model's one-step forecast ends
    within 0.03 of the known best forecast ``phi a(t)``, and its error near the noise floor."""
    torch.manual_seed(0)
    h, w = 4, 6
    phi = torch.linspace(0.2, 0.95, h * w).reshape(h, w)
    task = _regional_task(_contract(h, w, diff_std=0.6))
    lat, lon = torch.tensor(_contract(h, w)["lat"]), torch.tensor(_contract(h, w)["lon"])
    mask = torch.zeros(h, w, dtype=torch.bool)

    def sample(n: int):
        a0 = torch.randn(n, 1, h, w) / (1 - phi**2).sqrt()  # stationary
        a1 = phi * a0 + 0.1 * torch.randn(n, 1, h, w)
        a2 = phi * a1 + 0.1 * torch.randn(n, 1, h, w)
        batch = {"x": torch.stack([a0, a1], 1), "time": torch.rand(n, dtype=torch.float64) * 1e5,
                 "lat": lat, "lon": lon, "mask": mask}
        return batch, a2[:, None], phi * a1

    opt = torch.optim.Adam(task.parameters(), lr=1e-2)
    for _ in range(400):
        batch, y, _ = sample(64)
        loss = task.loss_fn(task.rollout(batch, 1), y, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    batch, y, best = sample(512)
    with torch.no_grad():
        pred = task.rollout(batch, 1)[:, 0]
    persistence_gap = (batch["x"][:, -1] - best).pow(2).mean().sqrt()
    gap, err = (pred - best).pow(2).mean().sqrt(), (pred - y[:, 0]).pow(2).mean().sqrt()
    assert persistence_gap > 0.25 and gap < 0.03 and err < 0.11, (persistence_gap, gap, err)
