"""``forecast-train``: train architectures on a series and publish each as a new version in the store.

Arguments and data are checked before TensorFlow is imported, so a mistake is reported in a
second as one line, ``forecast-train: error: ...``, with exit status 2. An architecture that
cannot be trained (its loss diverged, its windows do not fit) is reported as one line and as a
row of the table, and the others are still trained and published.

With ``--global`` (and ``--id-column``) every architecture is trained once across all the
series of the long CSV and published as one version, ``<dataset>-<architecture>``, that
forecasts any series (:mod:`training.global_networks`); without it each series is trained on
its own.

Exit statuses (:data:`EXIT_STATUSES`): 0 every requested model published, 1 some published and
some failed, 2 bad arguments or data (nothing trained), 3 none published (every one failed).

A CSV file's season length is ``--season-length`` when given, else the usual season of the
``--time-column``'s frequency (monthly 12, ...), else the training part's clearest
autocorrelation peak, else 1 (none). The synthetic series has the course's settings (period 365,
split at 1000). Windows are sized from the season and the training part: :mod:`training.defaults`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from contract import baselines, host, references, statistical, store
from contract.local_store import LocalStore
from contract.selection import best_by_dataset
from training import fanout
from training.data import (
    DataError,
    Panel,
    SeasonSource,
    Series,
    Table,
    infer_frequency,
    read_csv,
    read_panel,
    synthetic_values,
)
from training.statistical import ARIMA_TIME_CAP_ENV, DEFAULT_ARIMA_TIME_CAP, StatisticalConfig
from training.units import CliError, Failed, attempt, train_one

if TYPE_CHECKING:
    from training.architectures import Architecture
    from training.pipeline import Published
    from training.units import Unit

PROG = "forecast-train"
# The ensemble (training.ensemble) is not an architecture: it trains last, over the models the
# run has published.
ENSEMBLE = "ensemble"
DEFAULT_NETWORKS = ("wavenet", "conv_lstm", "lstm", "linear")
DEFAULT_STATISTICAL = ("auto_ets", "auto_arima", "auto_theta")
# The default set of a series without a long season; default_set adds mstl for one.
DEFAULT_ARCHITECTURES = (*DEFAULT_NETWORKS, *DEFAULT_STATISTICAL, ENSEMBLE)
# --global's default set: N-BEATS (generic and interpretable), the statistical models fitted per
# series, and their combination (default_global_set); the zoo trained globally is --arch or --all.
GLOBAL_STATISTICAL = ("auto_ets", "auto_arima", "auto_theta")
COMBINATION = "combination"
DEFAULT_GLOBAL = ("nbeats", "nbeats_interpretable", *GLOBAL_STATISTICAL, COMBINATION)
SYNTHETIC_SPLIT = 1000
SYNTHETIC_SEASON_LENGTH = 365
CSV_SPLIT_FRACTION = 0.8
# A model is named "<dataset>-<architecture>"; the longest architecture name takes 19 characters
# of the 64 a name may have.
MAX_DATASET_NAME = 40
ALL_PUBLISHED, SOME_FAILED, BAD_INPUT, NONE_PUBLISHED = 0, 1, 2, 3
EXIT_STATUSES = {
    ALL_PUBLISHED: "every requested model was published",
    SOME_FAILED: "some were published, some failed (their rows in the table say why)",
    BAD_INPUT: "bad arguments or data: nothing was trained",
    NONE_PUBLISHED: "every requested model failed: nothing was published",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the whole usage first; one line names the problem.
        raise CliError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _fraction(text: str) -> float:
    value = _positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``forecast-train``."""
    parser = _Parser(
        prog=PROG,
        description="Train forecasting models and publish each as a new version in the store.",
        epilog=(
            "examples: forecast-train --all --epochs 2 --store /tmp/store;  forecast-train --arch"
            " linear --data sales.csv --column units --time-column date --season-length 7"
        ),
    )
    which = parser.add_argument_group("what to train")
    which.add_argument(
        "--arch", action="append", metavar="NAME", help="an architecture to train (repeatable)"
    )
    which.add_argument("--all", action="store_true", help="train every architecture")
    which.add_argument("--list", action="store_true", help="print the architectures and exit")
    which.add_argument(
        "--defaults",
        action="store_true",
        help=(
            f"train the default set: {', '.join(DEFAULT_ARCHITECTURES[:-1])}, mstl when the"
            " season is longer than AutoETS takes (24) or the frequency has a longer cycle, then"
            " the ensemble of them all"
        ),
    )
    which.add_argument(
        "--defaults-if-empty",
        action="store_true",
        help="if the store has no model, train the default set (as --defaults); else do nothing",
    )

    which.add_argument(
        "--global",
        dest="global_",
        action="store_true",
        help=(
            "with --data and --id-column: train each architecture once across every series of"
            " the long CSV and publish one version, <dataset>-<architecture>, that forecasts any"
            f" series (default set: {', '.join(DEFAULT_GLOBAL)}); the last --horizon values of"
            " each series are its validation part"
        ),
    )

    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=["synthetic"],
        help="a built-in series (the default): the course's 1461 daily synthetic values",
    )
    data.add_argument("--data", type=Path, metavar="FILE", help="a CSV file with a header row")
    data.add_argument("--column", metavar="COL", help="the CSV column to forecast")
    data.add_argument(
        "--id-column",
        metavar="ID",
        help=(
            "a long-format CSV holding many series (like unique_id, ds, y): the column naming each"
            " row's series; every series is trained, as <dataset>-<id>-<architecture>"
        ),
    )
    data.add_argument(
        "--time-column",
        metavar="T",
        help=(
            "the CSV's time stamps (ISO dates or date-times, years, YYYY-MM): rows are sorted by"
            " them and their frequency sets the default season; gaps and duplicates are refused"
        ),
    )
    data.add_argument(
        "--fill",
        choices=["refuse", "interpolate"],
        help="what to do with missing CSV values (default: refuse)",
    )
    data.add_argument(
        "--split",
        type=_positive_int,
        help=(
            f"values before this index are the training part (default: {SYNTHETIC_SPLIT} for"
            f" synthetic, {CSV_SPLIT_FRACTION:.0%}% of the length for a CSV)"
        ),
    )
    data.add_argument(
        "--season-length",
        type=_positive_int,
        metavar="N",
        help=(
            f"the season in steps, 1 for none (default: {SYNTHETIC_SEASON_LENGTH} for synthetic;"
            " for a CSV the --time-column's usual season, e.g. 12 for monthly values, else the"
            " training part's clearest autocorrelation peak, else 1)"
        ),
    )

    fit = parser.add_argument_group("training (defaults: each architecture's own)")
    fit.add_argument(
        "--window",
        type=_positive_int,
        metavar="W",
        help="input window size (default: sized from the season and the training part)",
    )
    fit.add_argument(
        "--horizon",
        type=_positive_int,
        default=1,
        metavar="H",
        help="values per model call (default: %(default)s)",
    )
    fit.add_argument(
        "--epochs", type=_positive_int, help="most epochs (early stopping may end sooner)"
    )
    fit.add_argument("--batch-size", type=_positive_int, metavar="B")
    fit.add_argument("--learning-rate", type=_positive_float, metavar="LR")
    fit.add_argument(
        "--holdout",
        type=_fraction,
        metavar="F",
        help="fraction of the training part held out for early stopping (default: TrainConfig's)",
    )
    fit.add_argument(
        "--find-lr", action="store_true", help="choose the learning rate by the course's sweep"
    )
    fit.add_argument("--seed", type=int, help="random seed (default: TrainConfig's)")
    fit.add_argument(
        "--inputs",
        choices=["level", "difference", "local_level"],
        help="what the network reads: windows centred on their first value (level), first"
        " differences, forecasting the change from the last value, or, for WaveNet, each value"
        " less the mean of the values up to it (local_level) (default: chosen from the"
        " training part, see the README)",
    )
    fit.add_argument(
        "--arima-time-cap",
        type=_positive_float,
        metavar="S",
        help=(
            "the most seconds AutoARIMA's search may take before a quicker model is fitted"
            f" instead (default: ${ARIMA_TIME_CAP_ENV} or {DEFAULT_ARIMA_TIME_CAP:g})"
        ),
    )
    fit.add_argument(
        "--no-references",
        action="store_true",
        help=(
            "skip the statistical references (AutoETS and AutoARIMA fitted on the training part"
            " and scored beside each model); a season above 24 can make AutoARIMA take minutes"
        ),
    )

    engine = parser.add_argument_group("engine (with --id-column)")
    engine.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local trains in this process; ray runs each model as a Ray task (default: local)",
    )
    engine.add_argument(
        "--address",
        metavar="ADDR",
        help="join this Ray cluster (e.g. ray://head:10001) instead of starting a local one",
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--store",
        type=Path,
        default=Path("model_store"),
        help="the model store (default: %(default)s)",
    )
    out.add_argument(
        "--name", help='model name, only with one architecture (default: "<dataset>-<arch>")'
    )
    out.add_argument(
        "--quiet",
        action="store_true",
        help="no progress output, only the table and the best version",
    )
    return parser


@contextlib.contextmanager
def _import_logs_held() -> Iterator[None]:
    """Hold back what reaches file descriptor 2 while TensorFlow loads; replay it if loading fails.

    TensorFlow logs INFO lines while it loads, before its logging is initialised, and those ignore
    TF_CPP_MIN_LOG_LEVEL; when that variable asks for quiet, this keeps them off the terminal.
    """
    quiet = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") not in ("", "0")
    if "tensorflow" in sys.modules or not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield
            except BaseException:
                sys.stderr.flush()
                os.dup2(saved, 2)
                held.seek(0)
                sys.stderr.write(held.read().decode(errors="replace"))
                raise
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _architectures() -> dict[str, Architecture]:
    # TensorFlow's first look for devices is made here, so a host without NVIDIA's driver
    # never shows CUDA's complaint about it.
    with _import_logs_held(), host.cuda_logs_dropped():
        import tensorflow as tf

        from training.architectures import ARCHITECTURES

        tf.config.list_physical_devices()
    return ARCHITECTURES


def _list_architectures() -> None:
    archs = _architectures().values()
    width = max(len(n) for n in [*(a.name for a in archs), *statistical.NAMES])
    for a in archs:
        window = "season" if a.season_window else f"{a.window_size:>6}"
        print(f"{a.name:<{width}}  {a.output:<11}  window {window}  {a.description}")
    for name in statistical.NAMES:
        what = statistical.DESCRIPTIONS[name]
        print(f"{name:<{width}}  {'statistical':<11}  window {'series':>6}  {what}")
    what = "the models published in the same run, of every family, weighted by inverse hold-out MSE"
    print(f"{ENSEMBLE:<{width}}  {'combined':<11}  window {'widest':>6}  {what}")


def default_set(series: Series) -> list[str]:
    """The default set for a series: the networks, the statistical models, the ensemble.

    MSTL joins when the season is longer than AutoETS can hold, or the frequency has a longer
    cycle the training part holds twice (:func:`training.statistical.shape_for`).
    """
    from training import statistical as fitting

    names = [*DEFAULT_NETWORKS, *DEFAULT_STATISTICAL]
    try:
        seasons = fitting.shape_for("mstl", series, series.split).seasons
    except DataError:
        seasons = ()
    if any(s > references.ETS_MAX_SEASON for s in seasons) or len(seasons) > 1:
        names.append("mstl")
    return [*names, ENSEMBLE]


def dataset_name(path: Path) -> str:
    """The dataset name for a CSV file: its stem lowercased, other characters replaced by '-'."""
    name = re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-_")
    return name[:MAX_DATASET_NAME].rstrip("-_") or "data"


# Options that set what --global derives from the panel (or that it has no use for).
_NOT_GLOBAL = {
    "--split": "split",
    "--window": "window",
    "--holdout": "holdout",
    "--inputs": "inputs",
    "--find-lr": "find_lr",
    "--name": "name",
    "--arima-time-cap": "arima_time_cap",
}


def _check_global(args: argparse.Namespace) -> None:
    """Reject what --global cannot take."""
    if args.data is None or args.id_column is None or args.column is None:
        raise CliError(
            "--global trains across the series of a long CSV: give --data FILE"
            " --id-column ID --column COL"
        )
    for flag, key in _NOT_GLOBAL.items():
        if getattr(args, key) not in (None, False):
            raise CliError(
                f"{flag} does not apply to --global: its validation part is the last --horizon"
                " values of each series, its lookbacks and epochs follow from the panel"
            )
    if args.engine != "local" or args.address is not None:
        raise CliError("--global trains its members in this process; drop --engine and --address")
    if args.defaults_if_empty:
        raise CliError("--defaults-if-empty trains the default store; use --defaults --global")
    if args.arch and args.all:
        raise CliError("choose architectures with --arch or --all, not both")


def _check_arguments(args: argparse.Namespace) -> None:
    """Reject combinations of options that make no sense together."""
    if args.global_:
        _check_global(args)
        return
    if args.arch and args.all:
        raise CliError("choose architectures with --arch or --all, not both")
    for flag, given in (
        ("--defaults", args.defaults),
        ("--defaults-if-empty", args.defaults_if_empty),
    ):
        if given and (args.arch or args.all or args.name):
            raise CliError(f"{flag} trains its own set; drop --arch, --all and --name")
    if args.defaults and args.defaults_if_empty:
        raise CliError("choose --defaults or --defaults-if-empty, not both")
    if not (args.arch or args.all or args.defaults or args.defaults_if_empty):
        raise CliError(
            "choose what to train: --arch NAME (repeatable), --all or --defaults; see --list"
        )
    if args.data is not None and args.dataset is not None:
        raise CliError("choose one series: --dataset or --data, not both")
    if args.data is None:
        for option, value in (
            ("--column", args.column),
            ("--time-column", args.time_column),
            ("--fill", args.fill),
            ("--id-column", args.id_column),
        ):
            if value is not None:
                raise CliError(f"{option} applies to --data FILE only")
    else:
        if args.column is None:
            raise CliError("--data needs --column COL, the column to forecast")
    if args.id_column is not None and args.name is not None:
        raise CliError("--name names one model; with --id-column each series has its own names")
    if args.id_column is None and (args.engine != "local" or args.address is not None):
        raise CliError("--engine and --address fan out the series of --id-column only")
    if args.find_lr and args.learning_rate is not None:
        raise CliError("--find-lr chooses the learning rate; drop --learning-rate")
    if args.name is not None:
        store.validate_name(args.name)


def _selected(args: argparse.Namespace, known: dict[str, Architecture]) -> list[str]:
    if args.defaults or args.defaults_if_empty:
        names = list(DEFAULT_ARCHITECTURES)  # default_set refines it once the series is read
    elif args.all:
        names = [*known, *statistical.NAMES, ENSEMBLE]
    else:
        names = list(dict.fromkeys(args.arch))
    for name in names:
        if name not in known and name not in statistical.NAMES and name != ENSEMBLE:
            choices = ", ".join([*known, *statistical.NAMES, ENSEMBLE])
            raise CliError(f"unknown architecture {name!r}; choose from: {choices}")
    if args.name is not None and len(names) != 1:
        raise CliError(f"--name names one model, but {len(names)} architectures were chosen")
    return names


def _series(args: argparse.Namespace, panel: tuple[str, Table] | None = None) -> Series:
    """The series to train: the synthetic one, the CSV's column, or one ``(name, table)`` of a panel."""
    from training import seasons

    frequency, last = None, None
    source: SeasonSource = "given"
    if args.data is None:
        # --season-length changes what the baselines assume, never the course's series itself.
        values = synthetic_values()
        name = "synthetic"
        split = args.split or SYNTHETIC_SPLIT
        season_length = args.season_length or SYNTHETIC_SEASON_LENGTH
    else:
        name, table = panel or (
            dataset_name(args.data),
            read_csv(args.data, args.column, args.time_column, args.fill or "refuse"),
        )
        values = table.values
        split = args.split or round(CSV_SPLIT_FRACTION * len(values))
        season_length = args.season_length
        if table.stamps is not None:
            found = infer_frequency(table.stamps)
            frequency, last = found.name, table.stamps[-1]
            if season_length is None and found.season_length is not None:
                season_length, source = found.season_length, "frequency"
        if season_length is None and 0 < split < len(values):
            season_length = seasons.season_from_autocorrelation(values[:split])
            source = "autocorrelation" if season_length > 1 else "default"
    try:
        baselines.check_season_length(season_length or 1)
    except ValueError as e:
        raise CliError(str(e).replace("season_length", "--season-length")) from None
    return Series(name, values, split, season_length or 1, frequency, last, source)


def _time_cap(args: argparse.Namespace) -> float:
    from training import statistical as fitting

    return args.arima_time_cap or fitting.arima_time_cap()


def _configs(args: argparse.Namespace, names: list[str], series: Series) -> list[Unit]:
    """One config per architecture, each checked against the series before anything trains."""
    from training.pipeline import TrainConfig

    given = {
        "window_size": args.window,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "holdout": args.holdout,
        "seed": args.seed,
        "inputs": args.inputs,
    }
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    configs: list[Unit] = []
    for name in names:
        if name in statistical.NAMES:
            stat = StatisticalConfig(
                name,
                series,
                holdout=args.holdout or 0.2,
                name=args.name,
                references=not args.no_references,
                time_cap=_time_cap(args),
                verbose=not args.quiet,
            )
            _ = stat.shape  # refused now if its seasons do not fit the series
            store.validate_name(stat.model_name)
            configs.append(stat)
            continue
        config = TrainConfig(
            name,
            series,
            horizon=args.horizon,
            find_lr=args.find_lr,
            references=not args.no_references,
            verbose=not args.quiet,
            name=args.name,
            **overrides,
        )
        # Resolved now and kept with the config: a series too short for any window is refused
        # before the first model trains, and the progress line shows what is trained.
        _ = config.hyperparameters
        store.validate_name(config.model_name)
        configs.append(config)
    return configs


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def results_table(results: Sequence[tuple[Published | Failed, float]]) -> str:
    """One row per requested model: its scores next to the naive, the best baseline and the
    statistical references (AutoETS, AutoARIMA: "-" when skipped or not fitted).

    ``seconds`` is the wall time of the whole version: training, scoring and export. A model that
    failed has dashes and, in a last column, the reason.
    """
    header = (
        "name",
        "version",
        "val MAE",
        "naive MAE",
        "best baseline",
        "its MAE",
        "AutoETS",
        "AutoARIMA",
        "seconds",
    )
    rows: list[tuple[str, ...]] = [header]
    for outcome, seconds in results:
        if isinstance(outcome, Failed):
            dashes = ("-",) * (len(header) - 2)
            rows.append((outcome.name, *dashes, f"{seconds:.1f}", f"failed: {outcome.reason}"))
            continue
        scores = outcome.metadata.validation.scores
        naive = scores.get("naive")
        others = {k: s.mae for k, s in scores.items() if k in baselines.NAMES}
        ets, arima = (scores.get(name) for name in references.NAMES)
        best = min(others, key=others.__getitem__) if others else None
        rows.append(
            (
                outcome.name,
                str(outcome.version),
                _cell(scores["model"].mae),
                _cell(naive.mae if naive else None),
                best or "-",
                _cell(others[best] if best else None),
                _cell(ets.mae if ets else None),
                _cell(arima.mae if arima else None),
                f"{seconds:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    left = {0, 4}  # the name columns; numbers align right
    return "\n".join(
        "  ".join(
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        ).rstrip()
        + "".join(f"  {c}" for c in row[len(header) :])
        for row in rows
    )


def run(args: argparse.Namespace) -> int:
    """Do what the parsed arguments ask; raises CliError (or DataError, StoreError) on bad input."""
    if args.list:
        _list_architectures()
        return 0
    _check_arguments(args)
    if args.arima_time_cap is not None:
        # The references scored beside every version read the cap from the environment.
        os.environ[ARIMA_TIME_CAP_ENV] = f"{args.arima_time_cap:g}"
    if args.store.exists() and not args.store.is_dir():
        raise CliError(f"--store {args.store} is not a folder")
    if args.defaults_if_empty:
        local = LocalStore(args.store)
        existing = [n for n in local.names() if local.versions(n)] if args.store.exists() else []
        if existing:
            print(f"{args.store} already has {len(existing)} models; not training the defaults")
            return 0
    known = _architectures()
    if args.global_:
        return run_global(args)
    names = _selected(args, known)
    if args.id_column is not None:
        if args.defaults or args.defaults_if_empty:
            names = [n for n in names if n != ENSEMBLE]
        if ENSEMBLE in names:
            raise CliError(
                "--id-column trains each series' architectures as separate tasks; an ensemble"
                " per series is not built by the fan-out yet: leave out --arch ensemble"
            )
        return run_panel(args, names)
    series = _series(args)
    if args.defaults or args.defaults_if_empty:
        names = default_set(series)
    configs = _configs(args, [n for n in names if n != ENSEMBLE], series)
    if not args.quiet:
        print(_series_line(series), flush=True)
    results: list[tuple[Published | Failed, float]] = []
    try:
        for i, config in enumerate(configs, 1):
            if not args.quiet:
                print(f"[{i}/{len(names)}] {_progress(config)}", flush=True)
            outcome, seconds = train_one(config, args.store)
            if isinstance(outcome, Failed):
                _fail(f"{outcome.name}: {outcome.reason}", SOME_FAILED)
            results.append((outcome, seconds))
        if ENSEMBLE in names:
            results.append(_ensemble(args, series, [r for r, _ in results], len(names)))
    finally:
        # Whatever happens to a later model, the versions already published are reported.
        if results:
            print(results_table(results), flush=True)
    if any(not isinstance(outcome, Failed) for outcome, _ in results):
        print(best_line(args.store, series), flush=True)
        families = families_line([o for o, _ in results if not isinstance(o, Failed)])
        if families:
            print(families, flush=True)
    failed = sum(isinstance(outcome, Failed) for outcome, _ in results)
    if failed == 0:
        return ALL_PUBLISHED
    return NONE_PUBLISHED if failed == len(results) else SOME_FAILED


def default_global_set(panel: Panel) -> list[str]:
    """What --global trains without --arch (and with --defaults): N-BEATS, generic and
    interpretable, AutoETS, AutoARIMA and AutoTheta fitted per series, and their combination.

    The zoo's architectures train globally too (``--arch wavenet``, ``--all``), but on M3 they
    took minutes a type for worse scores than N-BEATS (bench/results/m3.md), so they are not
    in the default set.
    """
    return list(DEFAULT_GLOBAL)


def read_global_panel(args: argparse.Namespace) -> Panel:
    """The long CSV as one panel: its series, horizon, season and frequency; checked."""
    tables = read_panel(
        args.data, args.id_column, args.column, args.time_column, args.fill or "refuse"
    )
    found = {infer_frequency(t.stamps) for t in tables.values() if t.stamps is not None}
    if len({f.name for f in found}) > 1:
        raise CliError(
            f"the series have different frequencies ({', '.join(sorted(f.name for f in found))});"
            " a global version is trained on one"
        )
    frequency = next(iter(found), None)
    season = args.season_length or (frequency.season_length if frequency else None) or 1
    stamps = [t.stamps[-1] for t in tables.values() if t.stamps]
    panel = Panel(
        dataset_name(args.data),
        tuple(tables),
        tuple(t.values for t in tables.values()),
        args.horizon,
        season,
        frequency.name if frequency else None,
        max(stamps) if stamps else None,
    )
    panel.check()
    return panel


def _global_names(args: argparse.Namespace, panel: Panel) -> list[str]:
    from training.global_networks import BUILDERS

    known = [*BUILDERS, *GLOBAL_STATISTICAL, COMBINATION]
    if args.arch:
        names = list(dict.fromkeys(args.arch))
        for name in names:
            if name not in known:
                raise CliError(
                    f"unknown architecture {name!r} for --global; choose from: {', '.join(known)}"
                )
        if COMBINATION in names and len(names) - 1 < 2:
            raise CliError(
                "--arch combination combines the run's other versions: give at least two more"
            )
        # The combination is built last, from what the run published.
        return [n for n in names if n != COMBINATION] + [COMBINATION] * (COMBINATION in names)
    return known if args.all else default_global_set(panel)


def _global_job(
    name: str, args: argparse.Namespace, panel: Panel
) -> tuple[str, Callable[[], Published]]:
    """The model name and the training call of one --global architecture (not the combination)."""
    if name in GLOBAL_STATISTICAL:
        from training.statistical_panel import PanelFitConfig, fit_and_publish

        fitting = PanelFitConfig(name, panel, verbose=not args.quiet)
        return fitting.model_name, partial(fit_and_publish, fitting, args.store)
    from training.global_networks import GlobalConfig, train_and_publish

    config = GlobalConfig(
        name,
        panel,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed if args.seed is not None else 42,
        verbose=not args.quiet,
    )
    return config.model_name, partial(train_and_publish, config, args.store)


def run_global(args: argparse.Namespace) -> int:
    """Train each architecture once across the panel of ``--data``; the exit status."""
    from training.panel_combination import combine_and_publish

    panel = read_global_panel(args)
    names = _global_names(args, panel)
    jobs = [_global_job(name, args, panel) for name in names if name != COMBINATION]
    if COMBINATION in names:
        combined = f"{panel.name}-{COMBINATION}"
        jobs.append((combined, lambda: combine_and_publish(
            panel, [o for o, _ in results if not isinstance(o, Failed)], args.store,
            verbose=not args.quiet,
        )))  # fmt: skip
    for model_name, _ in jobs:
        store.validate_name(model_name)
    if not args.quiet:
        lengths = sorted(len(v) for v in panel.values)
        print(
            f"{panel.name}: {len(lengths)} series of {lengths[0]} to {lengths[-1]} values"
            f" (median {lengths[len(lengths) // 2]}), horizon {panel.horizon}, season"
            f" {panel.season_length}",
            flush=True,
        )
    results: list[tuple[Published | Failed, float]] = []
    try:
        for i, ((model_name, job), name) in enumerate(zip(jobs, names, strict=True), 1):
            if not args.quiet:
                print(
                    f"[{i}/{len(jobs)}] training {model_name}: {name} across"
                    f" {len(panel.values)} series, horizon {panel.horizon}",
                    flush=True,
                )
            outcome, seconds = attempt(model_name, args.store, job)
            if isinstance(outcome, Failed):
                _fail(f"{outcome.name}: {outcome.reason}", SOME_FAILED)
            results.append((outcome, seconds))
    finally:
        if results:
            print(panel_table(results), flush=True)
    if any(not isinstance(o, Failed) for o, _ in results):
        print(_best_line(args.store, panel.name, panel.sha256(), _panel_split(panel)), flush=True)
    failed = sum(isinstance(o, Failed) for o, _ in results)
    if failed == 0:
        return ALL_PUBLISHED
    return NONE_PUBLISHED if failed == len(results) else SOME_FAILED


def _panel_split(panel: Panel) -> int:
    return sum(len(v) for v in panel.values) - len(panel.values) * panel.horizon


def panel_table(results: Sequence[tuple[Published | Failed, float]]) -> str:
    """One row per global version: its panel sMAPE and MASE beside the naive's."""
    header = ("name", "version", "sMAPE", "MASE", "naive sMAPE", "naive MASE", "seconds")
    rows: list[tuple[str, ...]] = [header]
    for outcome, seconds in results:
        if isinstance(outcome, Failed):
            dashes = ("-",) * (len(header) - 2)
            rows.append((outcome.name, *dashes, f"{seconds:.1f}", f"failed: {outcome.reason}"))
            continue
        panel = outcome.metadata.validation.panel
        model = panel.scores["model"] if panel else None
        naive = panel.scores.get("naive") if panel else None
        rows.append(
            (
                outcome.name,
                str(outcome.version),
                _cell(model.smape if model else None),
                _cell(model.mase if model else None),
                _cell(naive.smape if naive else None),
                _cell(naive.mase if naive else None),
                f"{seconds:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        ).rstrip()
        + "".join(f"  {c}" for c in row[len(header) :])
        for row in rows
    )


def panel_configs(args: argparse.Namespace, names: list[str]) -> list[Unit]:
    """Every series' configs, all checked before anything trains; collisions refused."""
    tables = read_panel(
        args.data, args.id_column, args.column, args.time_column, args.fill or "refuse"
    )
    dataset = dataset_name(args.data)
    seen: dict[str, str] = {}
    configs = []
    for key, table in tables.items():
        name = fanout.series_name(dataset, key)
        if name in seen:
            raise CliError(
                f"series {seen[name]!r} and {key!r} would both be named {name!r}; rename one"
            )
        seen[name] = key
        configs += _configs(args, names, _series(args, (name, table)))
    return configs


def run_panel(args: argparse.Namespace, names: list[str]) -> int:
    """Train every series of ``--data`` by ``--id-column`` on ``--engine``; the exit status."""
    configs = panel_configs(args, names)
    chosen = fanout.engine(args.engine, args.address)
    order = {c.model_name: i for i, c in enumerate(configs)}
    results: list[fanout.Outcome] = []
    started = time.perf_counter()
    try:
        for config, outcome, seconds in chosen.run(configs, args.store):
            results.append((config, outcome, seconds))
            if isinstance(outcome, Failed):
                _fail(f"{outcome.name}: {outcome.reason}", SOME_FAILED)
            elif not args.quiet:
                mae = outcome.metadata.validation.scores["model"].mae
                print(
                    f"[{len(results)}/{len(configs)}] published {outcome.name} version"
                    f" {outcome.version} (validation MAE {mae:.3f}, {seconds:.1f} s)",
                    flush=True,
                )
    finally:
        results.sort(key=lambda r: order[r[0].model_name])
        if results:
            print(results_table([(o, s) for _, o, s in results]), flush=True)
            print(fanout.series_table(results), flush=True)
            print(f"wall time {time.perf_counter() - started:.1f} s on {args.engine}", flush=True)
    failed = sum(isinstance(o, Failed) for _, o, _ in results)
    if failed == 0:
        return ALL_PUBLISHED
    return NONE_PUBLISHED if failed == len(results) else SOME_FAILED


def _progress(config: Unit) -> str:
    """What is about to be trained, on one line."""
    series = config.series
    where = f"{series.name} split at {series.split} of {len(series.values)}"
    if isinstance(config, StatisticalConfig):
        seasons = ", ".join(map(str, config.shape.seasons)) or "none"
        return f"fitting {config.model_name}: {config.architecture}, seasons {seasons}, {where}"
    hp = config.hyperparameters
    return (
        f"training {config.model_name}: {config.architecture}, window {hp.window_size}"
        f" ({hp.window_rule}), horizon {config.horizon}, {where}"
    )


def families_line(published: Sequence[Published]) -> str | None:
    """Says plainly when a statistical model beats every network on validation MAE."""

    def mae(p: Published) -> float:
        return p.metadata.validation.scores["model"].mae

    networks = [p for p in published if p.metadata.kind == "savedmodel"]
    stats = [p for p in published if p.metadata.kind == statistical.KIND]
    if not networks or not stats:
        return None
    net, stat = min(networks, key=mae), min(stats, key=mae)
    if mae(stat) >= mae(net):
        return None
    return (
        f"a statistical model beats every network here: {stat.name} ({mae(stat):.3f} validation"
        f" MAE) against the best network, {net.name} ({mae(net):.3f}), by"
        f" {1 - mae(stat) / mae(net):.0%}"
    )


def _ensemble(
    args: argparse.Namespace, series: Series, outcomes: list[Published | Failed], total: int
) -> tuple[Published | Failed, float]:
    """The ensemble of the models this run published (:mod:`training.ensemble`), or why not.

    One SavedModel when every member is a network; a version of kind ``ensemble`` otherwise.
    """
    from training.ensemble import ARCHITECTURE, publish_combined, publish_ensemble

    name = args.name or f"{series.name}-{ARCHITECTURE}"
    members = [o for o in outcomes if not isinstance(o, Failed)]
    networks_only = all(m.metadata.kind == "savedmodel" for m in members)
    publish = publish_ensemble if networks_only else publish_combined
    if not args.quiet:
        listed = ", ".join(m.name for m in members) or "none"
        print(f"[{total}/{total}] combining {name}: {listed}, weighted on the hold-out", flush=True)
    outcome, seconds = attempt(
        name,
        args.store,
        lambda: publish(members, series, args.store, args.name, not args.no_references),
    )
    if isinstance(outcome, Failed):
        _fail(f"{outcome.name}: {outcome.reason}", SOME_FAILED)
    return outcome, seconds


def best_line(root: Path, series: Series) -> str:
    """The store's best version for ``series`` by validation MAE (:mod:`contract.selection`)."""
    return _best_line(root, series.name, series.sha256(), series.split)


def _best_line(root: Path, dataset: str, sha256: str, split: int) -> str:
    """The store's best version of one dataset (name, sha256, split) by validation."""
    versions = []
    local = LocalStore(root)
    for name in local.names():
        for version in local.versions(name):
            try:
                meta = local.read_metadata(name, version)
            except store.StoreError:
                continue  # a broken version is the server's to report, not a candidate
            d = meta.dataset
            if (d.name, d.sha256, d.split) == (dataset, sha256, split):
                versions.append((name, version, meta))
    (choice,) = best_by_dataset(versions)
    value = choice.validation_mae if choice.score is None else choice.score
    metric = "MAE" if choice.metric == "mae" else "sMAPE (mean over the series)"
    return (
        f"best on {dataset} by validation {metric}: {choice.model} version {choice.version}"
        f" ({value:.3f}, of {choice.candidates} versions in {root})"
    )


def _series_line(series: Series) -> str:
    """What the run learnt about the series: its length, frequency and season."""
    when = (
        f", {series.frequency} up to {series.last_timestamp:%Y-%m-%d %H:%M}"
        if (series.frequency and series.last_timestamp)
        else ""
    )
    return (
        f"{series.name}: {len(series.values)} values{when}; season {series.season_length}"
        f" ({series.season_length_source})"
    )


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``forecast-train``; returns the exit status (see :data:`EXIT_STATUSES`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return run(build_parser().parse_args(argv))
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except CliError as e:
        return _fail(str(e), e.status)
    except (DataError, store.StoreError) as e:
        return _fail(str(e), 2)
    except KeyboardInterrupt:
        return _fail("interrupted; versions already published are kept, nothing else", 130)


if __name__ == "__main__":
    sys.exit(main())
