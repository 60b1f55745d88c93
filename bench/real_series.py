"""Real-series benchmark: the series bundled inside pmdarima, trained with the defaults, served.

Protocol, per series (the issue's, and ``../shared/real-series-references.md``'s):

1. the first 80% (``int(n * 0.8)`` values) is written to a CSV with a date column in the series'
   frequency (none for heartrate, whose 0.5 s step has no calendar name) and trained by
   ``forecast-train --defaults`` with nothing else but ``--data --column --time-column``: the
   default set of that series (``training.cli.default_set``: the networks wavenet, conv_lstm,
   lstm and linear; the statistical auto_ets, auto_arima and auto_theta, and mstl when the
   season is longer than 24 or the frequency has a longer cycle; then the ensemble of them all).
   The CLI splits that 80% again into its training and validation parts;
2. the model is chosen by validation only (``contract.selection``: the lowest validation MAE
   among that dataset's versions, of every family);
3. the whole series goes to ``POST /forecast`` on a real uvicorn; every version's windowed
   one-step forecasts of the last 20% are scored (MAE): the chosen one's is the figure, the
   others (the best network, the best statistical version, the ensemble and its best member, by
   test MAE) are shown beside it;
4. beside it, on the same positions: naive and seasonal naive (``contract.baselines``) and
   AutoETS and AutoARIMA fitted once on the same 80% and run one step ahead over the last 20%
   with that fit (``contract.references``: statsforecast's ``cross_validation(h=1,
   refit=False)``), with the season the issue gives.

The AutoARIMA reference of step 4 is not the default set's auto_arima version: the reference is
fitted on the whole 80% with no time cap, the version on the CLI's training part (the first 80% of
that 80%) under its 30 s search cap, like every version of the default set. "chosen / AutoARIMA"
is the chosen version's test MAE over the reference's, and the geometric mean is over the series
run.

ausbeer's one missing value (its last) is filled as pandas' ``interpolate`` fills it (linear
inside, the last value carried forward at the end) for scoring; the 80% has none. Nothing is
downloaded: pmdarima's loaders read files inside the package (``load_gasoline`` downloads and is
left out). Training runs as ``python -m training.cli`` with this checkout first on
``PYTHONPATH``, so the code measured is the code beside this file.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m bench.real_series                 # all eight; writes the results
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

from bench.harness import ROOT, hand_written_notes, machine, serve
from contract import baselines, metrics, references, statistical, store
from contract.metadata import ModelMetadata
from contract.selection import best_by_dataset
from training.cli import ENSEMBLE

RESULTS = Path(__file__).resolve().parent / "results" / "real_series.md"
DETAIL = RESULTS.with_name("default_set.md")


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


@dataclass(frozen=True)
class Version:
    """One version of the default set: its family, scores, and what it is."""

    architecture: str
    family: str  # network, statistical or ensemble
    validation_mae: float
    test_mae: float
    training_seconds: float  # metadata.training_seconds: the version's own fit, scoring, export
    what: str  # a network's inputs, a statistical fit's model, an ensemble's members
    members: tuple[str, ...]  # an ensemble's member architectures


@dataclass
class Row:
    name: str
    length: int
    season: int
    chosen: str
    validation_mae: float
    model_mae: float
    versions: dict[str, Version]
    naive: float
    seasonal_naive: float | None
    auto_ets: float
    auto_arima: float
    references: dict[str, str]  # what the references fitted, e.g. "ARIMA(0,1,1)(0,1,1)[12]"
    train_seconds: float
    reference_seconds: float
    exit_status: int
    load: tuple[str, str]  # /proc/loadavg's 1-minute figure before and after training

    def best(self, family: str) -> tuple[str, Version] | None:
        """The version of ``family`` with the lowest test MAE."""
        mine = [(a, v) for a, v in self.versions.items() if v.family == family]
        return min(mine, key=lambda av: av[1].test_mae) if mine else None

    @property
    def best_member(self) -> tuple[str, Version] | None:
        """The ensemble's member with the lowest test MAE (None without an ensemble)."""
        ensemble = self.versions.get(ENSEMBLE)
        if ensemble is None:
            return None
        mine = [(a, self.versions[a]) for a in ensemble.members if a in self.versions]
        return min(mine, key=lambda av: av[1].test_mae) if mine else None

    @property
    def ratio(self) -> float:
        """The chosen version's test MAE over the AutoARIMA reference's."""
        return self.model_mae / self.auto_arima

    @property
    def within_10(self) -> bool:
        return self.model_mae <= 1.1 * self.auto_arima

    @property
    def ensemble_no_worse(self) -> bool | None:
        ensemble, member = self.versions.get(ENSEMBLE), self.best_member
        if ensemble is None or member is None:
            return None
        return ensemble.test_mae <= member[1].test_mae


def _load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def train(name: str, x: np.ndarray, spec: Spec, root: Path, work: Path) -> tuple[float, int, str]:
    """``forecast-train --defaults`` on the first 80%: its wall time, exit status, load before."""
    fit = x[: int(len(x) * 0.8)]
    csv = work / f"{name}.csv"
    if spec.start is None:
        csv.write_text("y\n" + "".join(f"{float(v)!r}\n" for v in fit), encoding="utf-8")
        argv = ["--data", str(csv), "--column", "y"]
    else:
        rows = zip(stamps(spec, len(fit)), fit, strict=True)
        csv.write_text("ds,y\n" + "".join(f"{t},{float(v)!r}\n" for t, v in rows), encoding="utf-8")
        argv = ["--data", str(csv), "--column", "y", "--time-column", "ds"]
    # ``python -m training.cli`` from this checkout, not the ``forecast-train`` script, which
    # imports whatever checkout the package was installed from.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    before = _load_average()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "training.cli", "--defaults", *argv, "--store", str(root)],
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
    )
    return time.perf_counter() - started, done.returncode, before


def _family(meta: ModelMetadata) -> str:
    if meta.architecture == ENSEMBLE:
        return "ensemble"  # kind "ensemble", or "savedmodel" when every member is a network
    return "statistical" if meta.kind == statistical.KIND else "network"


def _what(meta: ModelMetadata) -> str:
    """What the version reads or fitted: only networks have ``hyperparameters.inputs``."""
    if meta.ensemble is not None:
        return f"{len(meta.ensemble.members)} members"
    if meta.statsforecast is not None:
        return meta.statsforecast.model
    if meta.savedmodel is not None:
        return meta.savedmodel.hyperparameters.inputs
    return "-"


def score(
    name: str,
    x: np.ndarray,
    spec: Spec,
    url: str,
    root: Path,
    trained: tuple[float, int, str],
) -> Row:
    split = int(len(x) * 0.8)
    actual = x[split:]
    scale = metrics.naive_scale(x[:split])
    mine = [
        (model, v, meta)
        for model in store.model_names(root)
        for v in store.versions(root, model)
        if (meta := store.read_metadata(store.version_dir(root, model, v))).dataset.name == name
    ]
    (choice,) = best_by_dataset(mine)  # one version each here

    def mae(values: np.ndarray) -> float:
        return metrics.score(actual, values, scale)["mae"]

    def test_mae(model: str) -> float:
        """The model's windowed one-step forecasts of the last 20%, from POST /forecast."""
        body = {"model": model, "series": x.tolist(), "baselines": ["naive"]}
        r = httpx.post(f"{url}/forecast", json=body, timeout=600)
        r.raise_for_status()
        windowed = r.json()["windowed"]
        if windowed["start"] > split:
            raise RuntimeError(f"{model} forecasts from {windowed['start']}, after {split}")
        return mae(np.asarray(windowed["values"])[split - windowed["start"] :])

    def arch(model: str) -> str:
        return model.removeprefix(f"{name}-")

    versions = {
        arch(model): Version(
            architecture=meta.architecture,
            family=_family(meta),
            validation_mae=meta.validation.scores["model"].mae,
            test_mae=test_mae(model),
            training_seconds=meta.training_seconds,
            what=_what(meta),
            members=tuple(arch(m.name) for m in meta.ensemble.members) if meta.ensemble else (),
        )
        for model, _, meta in mine
    }

    m = spec.season
    seasonal = None
    if m > 1:
        start, values = baselines.windowed("seasonal_naive", x, m)
        seasonal = mae(values[split - start :])
    naive_start, naive = baselines.windowed("naive", x, m)
    fitted = {k: references.windowed(k, x, split, m) for k in references.NAMES}
    seconds, status, before = trained
    return Row(
        name=name,
        length=len(x),
        season=m,
        chosen=arch(choice.model),
        validation_mae=choice.validation_mae,
        model_mae=versions[arch(choice.model)].test_mae,
        versions=versions,
        naive=mae(naive[split - naive_start :]),
        seasonal_naive=seasonal,
        auto_ets=mae(fitted["auto_ets"].values),
        auto_arima=mae(fitted["auto_arima"].values),
        references={k: f.description for k, f in fitted.items()},
        train_seconds=seconds,
        reference_seconds=sum(f.seconds for f in fitted.values()),
        exit_status=status,
        load=(before, _load_average()),
    )


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _named(best: tuple[str, Version] | None) -> str:
    return "-" if best is None else f"{best[0]} {best[1].test_mae:.4g}"


def table(rows: list[Row]) -> str:
    lines = [
        "| series | n | season | chosen (val MAE) | reads or fitted | its test MAE |"
        " best network | best statistical | ensemble / its best member | naive |"
        " seasonal naive | AutoETS | AutoARIMA | chosen / AutoARIMA | within 10% of AutoARIMA |"
        " train s |",
        "| --- | ---: | ---: | --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: |"
        " ---: | --- | ---: |",
    ]
    for r in rows:
        ensemble, member = r.versions.get(ENSEMBLE), r.best_member
        combined = (
            "-"
            if ensemble is None or member is None
            else f"{ensemble.test_mae:.4g} / {member[0]} {member[1].test_mae:.4g}"
        )
        status = "" if r.exit_status == 0 else f" (exit {r.exit_status})"
        lines.append(
            f"| {r.name} | {r.length} | {r.season} | {r.chosen} ({r.validation_mae:.4g}) |"
            f" {r.versions[r.chosen].what} | {r.model_mae:.4g} | {_named(r.best('network'))} |"
            f" {_named(r.best('statistical'))} | {combined} | {r.naive:.4g} |"
            f" {_cell(r.seasonal_naive)} | {r.auto_ets:.4g} | {r.auto_arima:.4g} |"
            f" {r.ratio:.3f} | {'yes' if r.within_10 else 'no'} |"
            f" {r.train_seconds:.0f}{status} |"
        )
    return "\n".join(lines)


def geometric_mean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def targets(rows: list[Row]) -> str:
    """The issue's targets against the rows, as a table (the notes below it say why)."""
    n = len(rows)
    within = [r.name for r in rows if r.within_10]
    gm = geometric_mean([r.ratio for r in rows])
    judged = [r for r in rows if r.ensemble_no_worse is not None]
    no_worse = [r.name for r in judged if r.ensemble_no_worse]
    air = next((r for r in rows if r.name == "airpassengers"), None)

    def met(ok: bool) -> str:
        return "yes" if ok else "MISSED"

    lines = [
        "| target | figure | met |",
        "| --- | --- | --- |",
        f"| chosen version within 10% of AutoARIMA on at least 7 of 8 | {len(within)} of {n} |"
        f" {met(len(within) >= 7 * n / 8)} |",
        f"| geometric mean of chosen / AutoARIMA at most 0.95 | {gm:.3f} | {met(gm <= 0.95)} |",
        f"| ensemble no worse than its best member on at least 6 of 8 | {len(no_worse)} of"
        f" {len(judged)} | {met(len(no_worse) >= 6 * len(judged) / 8)} |",
    ]
    if air is not None:
        lines.append(
            f"| default set on airpassengers trained in at most 90 s on 2 cores |"
            f" {air.train_seconds:.0f} s | {met(air.train_seconds <= 90)} |"
        )
    return "\n".join(lines)


def detail(rows: list[Row]) -> str:
    """Every version of every series: bench/results/default_set.md's tables."""
    out = []
    for r in rows:
        out += [
            f"### {r.name}",
            "",
            f"forecast-train exit status {r.exit_status}, {r.train_seconds:.0f} s wall time,"
            f" load average (1 min) {r.load[0]} before and {r.load[1]} after; references"
            f" {r.references['auto_ets']} and {r.references['auto_arima']} fitted in"
            f" {r.reference_seconds:.1f} s, test MAE {r.auto_ets:.4g} and {r.auto_arima:.4g}.",
            "",
            "| version | family | reads or fitted | val MAE | test MAE | test / AutoARIMA |"
            " version s |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for a, v in sorted(r.versions.items(), key=lambda av: av[1].validation_mae):
            mark = " (chosen)" if a == r.chosen else ""
            out.append(
                f"| {a}{mark} | {v.family} | {v.what} | {v.validation_mae:.4g} |"
                f" {v.test_mae:.4g} | {v.test_mae / r.auto_arima:.3f} |"
                f" {v.training_seconds:.1f} |"
            )
        out.append("")
    return "\n".join(out)


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
            trained = train(name, x, SERIES[name], root, work)
            with serve({"FORECAST_MODEL_STORE": str(root)}, work / "server.log") as server:
                rows.append(score(name, x, SERIES[name], server.url, root, trained))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
            if not args.series:  # the whole benchmark: the table so far, after every series
                write(rows, [n for n in SERIES if n not in {r.name for r in rows}], began)
    print(table(rows))
    print(targets(rows))
    print(detail(rows))


def write(rows: list[Row], missing: list[str], began: float) -> None:
    """bench/results/real_series.md (the protocol, the tables) and default_set.md (every version)."""
    protocol = __doc__.split("\n\n", 1)[1].split("    .venv")[0]
    note = f"Not run yet: {', '.join(missing)}.\n\n" if missing else ""
    notes = hand_written_notes(RESULTS)  # what the table shows, below it
    produced = (
        f"Produced by `python -m bench.real_series` in {time.perf_counter() - began:.0f} s"
        f" on {machine()}."
    )
    gm = geometric_mean([r.ratio for r in rows])
    RESULTS.write_text(
        "# Real series: the default set against the statistical references\n\n"
        f"{produced}\n\n{protocol}{table(rows)}\n\n"
        f"Geometric mean of chosen / AutoARIMA over {len(rows)} series: {gm:.3f}."
        f" Every version's figures: [default_set.md](default_set.md).\n\n"
        f"{targets(rows)}\n\n{note}{notes}",
        encoding="utf-8",
    )
    DETAIL.write_text(
        "# Real series: every version of the default set\n\n"
        f"{produced} The versions of [real_series.md](real_series.md)'s table, in order of"
        " validation MAE; test MAE on the last 20% from `POST /forecast`, as there; `version s` is"
        " the version's own `training_seconds` (for an ensemble, combining and scoring its"
        f" members).\n\n{note}{detail(rows)}",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
