"""Real-series benchmark: the series bundled inside pmdarima, trained with the defaults, served.

Protocol, per series (the issue's, and ``../shared/real-series-references.md``'s):

1. the first 80% (``int(n * 0.8)`` values) is written to a CSV with a date column in the series'
   frequency (none for heartrate, whose 0.5 s step has no calendar name) and trained by
   ``forecast-train`` with nothing but ``--data --column --time-column`` and the default set: the
   CLI splits that 80% again into its training and validation parts;
2. the model is chosen by validation only (``contract.selection``: the lowest validation MAE
   among that dataset's versions);
3. the whole series goes to ``POST /forecast`` on a real uvicorn; the chosen model's windowed
   one-step forecasts of the last 20% are scored (MAE);
4. beside it, on the same positions: naive and seasonal naive (``contract.baselines``) and
   AutoETS and AutoARIMA fitted once on the same 80% and run one step ahead over the last 20%
   with that fit (``contract.references``: statsforecast's ``cross_validation(h=1,
   refit=False)``), with the season the issue gives.

ausbeer's one missing value (its last) is filled as pandas' ``interpolate`` fills it (linear
inside, the last value carried forward at the end) for scoring; the 80% has none. Nothing is
downloaded: pmdarima's loaders read files inside the package (``load_gasoline`` downloads and is
left out).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m bench.real_series                 # all eight; writes the results table
    .venv/bin/python -m bench.real_series lynx austres    # a subset, printed only
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from bench.harness import hand_written_notes, machine, serve
from contract import baselines, metrics, references, store
from contract.selection import best_by_dataset
from training.cli import DEFAULT_ARCHITECTURES

RESULTS = Path(__file__).resolve().parent / "results" / "real_series.md"
FORECAST_TRAIN = Path(sys.executable).with_name("forecast-train")


@dataclass(frozen=True)
class Spec:
    """A pmdarima series: its first time stamp and step (None: no time column), and season."""

    start: str | None
    step: str | None
    season: int


SERIES = {
    "airpassengers": Spec("1949-01", "months:1", 12),
    "ausbeer": Spec("1956-01", "months:3", 4),
    "austres": Spec("1971-04", "months:3", 4),
    "lynx": Spec("1821", "months:12", 10),
    "wineind": Spec("1980-01", "months:1", 12),
    "woolyrnq": Spec("1965-01", "months:3", 4),
    "heartrate": Spec(None, None, 1),
    "taylor": Spec("2000-06-05T00:00", "minutes:30", 48),  # the longest, last
}


def load(name: str) -> np.ndarray:
    """The series, its missing values filled as pandas' ``interpolate()`` would."""
    import pmdarima.datasets

    x = np.asarray(getattr(pmdarima.datasets, f"load_{name}")(), dtype=np.float64)
    missing = np.isnan(x)
    if missing.any():
        known = np.flatnonzero(~missing)
        x[missing] = np.interp(np.flatnonzero(missing), known, x[known])
    return x


def stamps(spec: Spec, count: int) -> list[str]:
    """``count`` time stamps from ``spec.start`` in steps of ``spec.step``."""
    assert spec.start is not None and spec.step is not None
    unit, size = spec.step.split(":")
    if unit == "minutes":
        first = datetime.fromisoformat(spec.start)
        step = timedelta(minutes=int(size))
        return [(first + i * step).isoformat(timespec="minutes") for i in range(count)]
    year, month = (int(p) for p in [*spec.start.split("-"), "1"][:2])
    out = []
    for i in range(count):
        months = (month - 1) + i * int(size)
        y, m = year + months // 12, months % 12 + 1
        out.append(f"{y}" if int(size) == 12 else f"{y}-{m:02d}")
    return out


@dataclass
class Row:
    name: str
    length: int
    season: int
    chosen: str
    inputs: str  # what the chosen network reads (training.defaults.inputs)
    validation_mae: float
    model_mae: float
    naive: float
    seasonal_naive: float | None
    auto_ets: float
    auto_arima: float
    ensemble_mae: float | None
    best_member_mae: float | None
    train_seconds: float
    reference_seconds: float
    every_arch_trained: bool


def train(name: str, x: np.ndarray, spec: Spec, root: Path, work: Path) -> tuple[float, bool]:
    """``forecast-train`` with the defaults on the first 80%; its wall time and exit status 0."""
    fit = x[: int(len(x) * 0.8)]
    csv = work / f"{name}.csv"
    if spec.start is None:
        csv.write_text("y\n" + "".join(f"{float(v)!r}\n" for v in fit), encoding="utf-8")
        argv = ["--data", str(csv), "--column", "y"]
    else:
        rows = zip(stamps(spec, len(fit)), fit, strict=True)
        csv.write_text("ds,y\n" + "".join(f"{t},{float(v)!r}\n" for t, v in rows), encoding="utf-8")
        argv = ["--data", str(csv), "--column", "y", "--time-column", "ds"]
    started = time.perf_counter()
    default_set = [a for arch in DEFAULT_ARCHITECTURES for a in ("--arch", arch)]
    done = subprocess.run(
        [str(FORECAST_TRAIN), *default_set, *argv, "--store", str(root)], check=False
    )
    return time.perf_counter() - started, done.returncode == 0


def _chosen(root: Path, name: str) -> tuple[str, int, float, list[str]]:
    """The best version of dataset ``name`` by validation, and every model of that dataset."""
    versions = [
        (model, v, store.read_metadata(store.version_dir(root, model, v)))
        for model in store.model_names(root)
        for v in store.versions(root, model)
    ]
    mine = [(m, v, meta) for m, v, meta in versions if meta.dataset.name == name]
    (choice,) = best_by_dataset(mine)
    return choice.model, choice.version, choice.validation_mae, [m for m, _, _ in mine]


def score(
    name: str, x: np.ndarray, spec: Spec, url: str, root: Path, seconds: float, ok: bool
) -> Row:
    split = int(len(x) * 0.8)
    actual = x[split:]
    scale = metrics.naive_scale(x[:split])
    model, version, validation_mae, models = _chosen(root, name)  # one version each here
    inputs = store.read_metadata(
        store.version_dir(root, model, version)
    ).network.hyperparameters.inputs

    def mae(values: np.ndarray) -> float:
        return metrics.score(actual, values, scale)["mae"]

    def test_mae(model: str) -> float:
        """The model's windowed one-step forecasts of the last 20%, from POST /forecast."""
        body = {"model": model, "series": x.tolist(), "baselines": ["naive"]}
        r = httpx.post(f"{url}/forecast", json=body, timeout=300)
        r.raise_for_status()
        windowed = r.json()["windowed"]
        return mae(np.asarray(windowed["values"])[split - windowed["start"] :])

    every = {m.removeprefix(f"{name}-"): test_mae(m) for m in models}
    ensemble = every.pop("ensemble", None)

    m = spec.season
    seasonal = None
    if m > 1:
        start, values = baselines.windowed("seasonal_naive", x, m)
        seasonal = mae(values[split - start :])
    naive_start, naive = baselines.windowed("naive", x, m)
    fitted = {k: references.windowed(k, x, split, m) for k in references.NAMES}
    return Row(
        name=name,
        length=len(x),
        season=m,
        chosen=model.removeprefix(f"{name}-"),
        inputs=inputs,
        validation_mae=validation_mae,
        model_mae=every.get(model.removeprefix(f"{name}-"), ensemble or np.nan),
        naive=mae(naive[split - naive_start :]),
        seasonal_naive=seasonal,
        auto_ets=mae(fitted["auto_ets"].values),
        auto_arima=mae(fitted["auto_arima"].values),
        ensemble_mae=ensemble,
        best_member_mae=min(every.values()) if ensemble is not None else None,
        train_seconds=seconds,
        reference_seconds=sum(f.seconds for f in fitted.values()),
        every_arch_trained=ok,
    )


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def table(rows: list[Row]) -> str:
    lines = [
        "| series | n | season | chosen (val MAE) | reads | its test MAE | naive | seasonal naive |"
        " AutoETS | AutoARIMA | beats naive | within 10% of AutoARIMA | ensemble /"
        " best member (test MAE) | train s | references s |",
        "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | ---: |",
    ]
    for r in rows:
        ensemble = (
            "-"
            if r.ensemble_mae is None or r.best_member_mae is None
            else f"{r.ensemble_mae:.4g} / {r.best_member_mae:.4g}"
        )
        lines.append(
            f"| {r.name} | {r.length} | {r.season} | {r.chosen} ({r.validation_mae:.4g}) | {r.inputs} |"
            f" {r.model_mae:.4g} | {r.naive:.4g} | {_cell(r.seasonal_naive)} |"
            f" {r.auto_ets:.4g} | {r.auto_arima:.4g} |"
            f" {'yes' if r.model_mae < r.naive else 'no'} |"
            f" {'yes' if r.model_mae <= 1.1 * r.auto_arima else 'no'} | {ensemble} |"
            f" {r.train_seconds:.0f}{'' if r.every_arch_trained else ' (some failed)'} |"
            f" {r.reference_seconds:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", nargs="*", help=f"default: all of {', '.join(SERIES)}")
    args = parser.parse_args()
    names = args.series or list(SERIES)
    if unknown := set(names) - set(SERIES):
        parser.error(f"unknown series: {', '.join(sorted(unknown))}")
    began = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "store", Path(tmp)
        for name in names:
            x = load(name)
            seconds, ok = train(name, x, SERIES[name], root, work)
            with serve({"FORECAST_MODEL_STORE": str(root)}, work / "server.log") as server:
                rows.append(score(name, x, SERIES[name], server.url, root, seconds, ok))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
            if not args.series:  # the whole benchmark: the table so far, after every series
                write(rows, [n for n in SERIES if n not in {r.name for r in rows}], began)
    print(table(rows))


def write(rows: list[Row], missing: list[str], began: float) -> None:
    """bench/results/real_series.md: the protocol, the table, the series not run yet."""
    protocol = __doc__.split("\n\n", 1)[1].split("    .venv")[0]
    note = f"Not run yet: {', '.join(missing)}.\n" if missing else ""
    notes = hand_written_notes(RESULTS)  # what the table shows, below it
    RESULTS.write_text(
        "# Real series: the default set against the statistical references\n\n"
        f"Produced by `python -m bench.real_series` in {time.perf_counter() - began:.0f} s"
        f" on {machine()}.\n\n{protocol}{table(rows)}\n\n{note}{notes}",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
