"""``metadata.json``: what a version is, how it was made and how well it does.

One schema, written by ``training`` when it publishes a version and returned as is by the
service's ``GET /models``. Fields added later have defaults, so every older store still loads.

``kind`` names the model family, which says how the version is loaded (``app.kinds``); the
fields every kind has are top-level, and a family's own fields sit in a block named after the
kind (``savedmodel``: the TensorFlow and Keras versions, the training hyper-parameters and
epochs; ``statsforecast``: the statsforecast version, what the fit chose and the model file's
sha256; ``global``: one network trained across every series of a panel, its member networks,
how its windows were drawn and scaled; ``statsforecast_panel``: one statistical model fitted to
every series of a panel, the fits keyed by series id). An ``ensemble`` version combines
versions of any kinds, stored inside it. Format 1
(before kinds) had the SavedModel's fields top-level; it is read as format 2 of kind
``savedmodel`` (:meth:`ModelMetadata._from_format_1`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

FORMAT_VERSION = 2
SAVEDMODEL = "savedmodel"
STATSFORECAST = "statsforecast"
ENSEMBLE = "ensemble"
GLOBAL = "global"
STATSFORECAST_PANEL = "statsforecast_panel"
# Format 1's top-level fields that are the savedmodel kind's own.
_SAVEDMODEL_FIELDS = ("tensorflow_version", "keras_version", "hyperparameters", "epochs")

# Probabilities at which validation residuals are summarised for prediction intervals.
QUANTILE_LEVELS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
    0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995,
)  # fmt: skip


class Scores(BaseModel):
    """Accuracy of one method over one set of positions (see :mod:`contract.metrics`)."""

    mae: float
    mse: float
    rmse: float
    mape: float | None
    mase: float | None


class DatasetInfo(BaseModel):
    """Which values a version was trained and validated on."""

    name: str
    length: int = Field(gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    split: int = Field(gt=0, description="values before this index were the training part")
    frequency: str | None = Field(
        None, description='the time column\'s step, e.g. "monthly"; None without a time column'
    )
    last_timestamp: datetime | None = Field(None, description="the time of the series' last value")
    season_length_source: Literal["given", "frequency", "autocorrelation", "default"] | None = (
        Field(None, description="where the season length came from; None in older versions")
    )
    training_tail: list[float] | None = Field(
        None,
        description="the training part's last values, by which the service finds where a"
        " request's series holds the training part and scores the positions after it apart;"
        " None in older versions",
    )


class ReferenceFit(BaseModel):
    """A statistical reference fitted on the training part (:mod:`contract.references`)."""

    model: str | None = Field(
        description='what was chosen, e.g. "ARIMA(1,1,0)(0,1,0)[12]"; None when it failed'
    )
    season_length: int = Field(description="the season it was fitted with (1: none)")
    fit_values: int = Field(
        ge=0, description="how many of the last training values it was fitted on"
    )
    seconds: float = Field(ge=0, description="fit and one-step forecasts over the validation part")
    error: str | None = Field(None, description="why it could not be fitted")


class PanelScore(BaseModel):
    """A method's scale-free scores over a panel's validation parts, averaged over its series."""

    smape: float = Field(ge=0, le=200, description="mean over series of sMAPE in percent")
    mase: float | None = Field(
        None, ge=0, description="mean over series of MASE (None: no series had a usable scale)"
    )


class PanelValidation(BaseModel):
    """How a version trained across a panel did on each series' last ``horizon`` values.

    Every series' validation part is its last ``horizon`` values, forecast in one call from the
    values before them; the scores are each series' sMAPE and MASE (in-sample seasonal naive
    scale of the values before its validation part) averaged over the panel's series, so they
    compare across series of any scale and across versions of the same panel.
    """

    series: int = Field(gt=0, description="series scored")
    horizon: int = Field(gt=0, description="values held out at the end of each series")
    season_length: int = Field(gt=0, description="the lag of MASE's in-sample naive scale")
    scores: dict[str, PanelScore] = Field(
        description='"model" and each baseline (naive, seasonal_naive) on the same values'
    )


class Validation(BaseModel):
    """One-step-ahead scores of the model and every baseline on the same validation positions.

    The model's forecasts are those of the published SavedModel's ``windowed`` signature, the
    path ``POST /forecast`` serves; the baselines' come from :mod:`contract.baselines`.
    """

    start: int = Field(description="first scored index of the series")
    end: int = Field(description="one past the last scored index")
    scores: dict[str, Scores] = Field(
        description='"model", one entry per baseline and per statistical reference'
    )
    references: dict[str, ReferenceFit] = Field(
        default_factory=dict,
        description="AutoETS and AutoARIMA fitted on the training part: what each chose",
    )
    panel: PanelValidation | None = Field(
        None,
        description="a version trained across a panel: its scale-free scores over every series"
        " (GET /models' best compares panel versions by these); None for one series",
    )


FEW_RESIDUALS = 30  # intervals on fewer one-step residuals than this are called rough


class ResidualQuantiles(BaseModel):
    """Quantiles of validation residuals ``actual - forecast`` by steps ahead.

    ``by_step[h - 1][j]`` is the ``levels[j]`` quantile of the residuals ``h`` steps ahead,
    for the steps with enough residuals (``counts``); beyond them the service widens the last
    row by the square root of the steps. Empty when the validation part gave fewer than two.
    """

    levels: list[float]
    by_step: list[list[float]]
    count: int = Field(ge=0, description="residuals behind the one-step quantiles")
    counts: list[int] | None = Field(
        None, description="residuals behind each step's row; None in versions before it"
    )

    def note(self) -> str | None:
        """What a client should know about intervals from these residuals; None: nothing."""
        if len(self.by_step) == 0:
            return (
                f"the version's validation part gave {self.count} residual(s), too few for"
                " intervals"
            )
        if self.count < FEW_RESIDUALS:
            return (
                f"rough: the intervals rest on {self.count} one-step validation residuals"
                f" (fewer than {FEW_RESIDUALS})"
            )
        return None


class Hyperparameters(BaseModel):
    """How a version was trained: the architecture's defaults resolved against the run's options.

    ``holdout_epochs`` and ``scale`` are found while training; the rest is fixed before it starts.
    """

    model_config = ConfigDict(frozen=True)

    window_size: int = Field(gt=0)
    horizon: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    optimizer: Literal["adam", "sgd"]
    learning_rate: float = Field(gt=0)
    max_epochs: int = Field(gt=0)
    patience: int = Field(gt=0)
    holdout: float = Field(gt=0, lt=1, description="fraction of the training part held out")
    refit: bool = Field(description="retrained on the whole training part after early stopping")
    loss: Literal["huber"] = "huber"
    seed: int
    find_lr: bool = Field(description="the learning rate was chosen by the course's sweep")
    stateful_training: bool
    inputs: Literal["level", "difference", "local_level"] = Field(
        "level",
        description="level: each window centred on its first value; difference: the network"
        " reads first differences and forecasts the change from the last known value;"
        " local_level: each value less the mean of the level_span values up to it, the forecast"
        " a change from the last such mean",
    )
    level_span: int | None = Field(None, ge=2, description="local_level: values in each mean")
    one_pass: bool = Field(
        False,
        description="windowed forecasts are one causal pass over the series, equal to window by"
        " window (a convolution stack over differences or a local level)",
    )
    holdout_epochs: int | None = Field(None, description="epochs run while early stopping")
    scale: float | None = Field(None, description="the training part's std the model divides by")
    holdout_mae: float | None = Field(
        None,
        ge=0,
        description="one-step MAE on the early-stopping hold-out, before any refit learnt it",
    )
    window_rule: str | None = Field(
        None, description="how the window was chosen (training.defaults), or that it was given"
    )
    inputs_rule: str | None = Field(
        None, description="how inputs was chosen (training.defaults), or that it was given"
    )
    epochs_rule: str | None = Field(
        None, description="how max_epochs was chosen (training.defaults), or that it was given"
    )


class EnsembleMember(BaseModel):
    """One version an ensemble combines."""

    name: str
    version: int = Field(gt=0)
    kind: str = Field(SAVEDMODEL, description="the member's model family")
    architecture: str
    window_size: int = Field(gt=0, description="it reads the last this many values of the window")
    weight: float = Field(ge=0, le=1)


class EnsembleInfo(BaseModel):
    """What an ``ensemble`` version combines and how (``training.ensemble``)."""

    combination: Literal["mean", "inverse_holdout_mse", "mean_of_validation_choice"] = Field(
        description="how the members' forecasts are combined: for one series the weights come"
        " from the training part's hold-out, never the validation part; across a panel the"
        " members are the subset whose mean scored best on the panel's validation parts"
    )
    members: list[EnsembleMember]
    choice: str | None = Field(None, description="which members were chosen, and from what")
    scale_window: int | None = Field(
        None,
        gt=0,
        description="residual_quantiles are in units of each series' scale over its last this"
        " many values (a panel's combination); None: in the series' own units",
    )


class SavedModelInfo(BaseModel):
    """The ``savedmodel`` kind's own fields: how the network was built and trained."""

    tensorflow_version: str
    keras_version: str
    hyperparameters: Hyperparameters
    epochs: int = Field(ge=0)


class StatsforecastInfo(BaseModel):
    """The ``statsforecast`` kind's own fields: what statsforecast fitted, and the stored file."""

    statsforecast_version: str
    model: str = Field(description='what the fit chose, e.g. "ARIMA(0,1,1)(0,1,1)[12]"')
    season_lengths: list[int] = Field(description="the seasons it was fitted with (empty: none)")
    fit_values: int = Field(gt=0, description="how many of the last training values it fitted")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="of model.pkl; the service refuses a file whose hash differs",
    )
    holdout_mae: float | None = Field(
        None,
        ge=0,
        description="one-step MAE on the training part's hold-out, from a fit before it (the"
        " ensemble's weights)",
    )
    time_cap_seconds: float | None = Field(
        None, description="the most one search could take (AutoARIMA); None: no cap"
    )
    cut_short: bool = Field(
        False, description="the search ran past its time cap and a quicker one was fitted"
    )
    search: str = Field(description="how the model was found, and what was cut short")


class GlobalMember(BaseModel):
    """One member network of a ``global`` version: a SavedModel under ``members/<i>/``."""

    lookback: int = Field(gt=0, description="the most values it reads (shorter series are padded)")
    loss: Literal["smape", "mase"]
    seed: int
    epochs: int = Field(ge=0, description="epochs trained (early stopping kept the best)")
    validation_smape: float = Field(ge=0, description="its own sMAPE over the panel's validation")
    used: bool = Field(
        True,
        description="in the median: a member whose validation sMAPE is far above the best"
        " member's is kept in the folder but not used",
    )
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="of the member's files (names and contents); a version whose files differ is"
        " refused at load",
    )


class PanelFitsInfo(BaseModel):
    """The ``statsforecast_panel`` kind's own fields: one statistical model fitted per series."""

    statsforecast_version: str
    series: int = Field(gt=0, description="series fitted (the keys of fits.pkl)")
    models: dict[str, int] = Field(
        description='what the fits chose, and how many series each, e.g. {"ETS(M,A,N)": 210}'
    )
    fit: str = Field(description="what each fit read: the validation fit, then the refit")
    unseen: str = Field(description="what the service does with a series the version never saw")
    failed: int = Field(
        0, ge=0, description="series whose search failed and got the fallback fit named in fit"
    )
    scale_window: int = Field(
        gt=0,
        description="residual_quantiles are in units of each series' scale over its last this"
        " many values",
    )
    min_length: int = Field(gt=0, description="the fewest values a series is forecast from")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="of fits.pkl; the service refuses a file whose hash differs",
    )


class GlobalInfo(BaseModel):
    """The ``global`` kind's own fields: one network across many series, and how it was made.

    Which of the techniques that make global networks work on short series were used, each with
    the rule that set it from the data, so a reader can tell what a score rests on.
    """

    tensorflow_version: str
    keras_version: str
    members: list[GlobalMember] = Field(min_length=1)
    combination: Literal["median"] = Field(description="how the used members' forecasts combine")
    choice: str = Field("every member", description="which members are used, and why")
    min_length: int = Field(gt=0, description="the fewest values a series is forecast from")
    scaling: str = Field(description="how each window and its target are scaled")
    masking: str = Field(description="how series shorter than a lookback are read")
    output: str = Field(description="what one call forecasts")
    sampling: str = Field(description="which cut points training windows end at, and why")
    history_multiple: float = Field(
        gt=0, description="L: training windows end within the last L x horizon training values"
    )
    losses: list[Literal["smape", "mase"]] = Field(description="the scale-free losses used")
    lookbacks_rule: str = Field(description="how the members' lookbacks follow from the horizon")
    epochs_rule: str = Field(description="how the most epochs and the batch were chosen")
    refit: bool = Field(False, description="refitted on whole series after early stopping")
    intervals: str = Field(description="where the prediction intervals come from")
    series: int = Field(gt=0, description="series trained on")
    lengths: list[int] = Field(description="shortest, median and longest series length")
    windows: int = Field(gt=0, description="training windows drawn across the panel")


class ModelMetadata(BaseModel):
    """Contents of ``metadata.json``."""

    # ``global`` is a Python keyword: the block is ``global_`` in Python, "global" on disk.
    model_config = ConfigDict(
        protected_namespaces=(),
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    format_version: int = FORMAT_VERSION
    kind: str = Field(
        SAVEDMODEL,
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="the model family, which says how the version is loaded and served"
        " (savedmodel: a TensorFlow SavedModel with the store's three signatures)",
    )
    name: str
    version: int = Field(ge=0, description="0 until published")
    architecture: str
    window_size: int = Field(gt=0, description="the most values one forecast reads")
    horizon: int = Field(gt=0, description="values forecast per model call")
    season_length: int = Field(gt=0)
    dataset: DatasetInfo
    training_seconds: float = Field(ge=0)
    created_at: datetime
    validation: Validation = Field(
        description="one-step scores of the model and the baselines on the validation part"
    )
    residual_quantiles: ResidualQuantiles | None = Field(
        None,
        description="validation residuals' quantiles by steps ahead, behind the intervals of"
        " kinds without their own (a SavedModel's)",
    )
    savedmodel: SavedModelInfo | None = Field(
        None, description="the savedmodel kind's own fields; None for other kinds"
    )
    statsforecast: StatsforecastInfo | None = Field(
        None, description="the statsforecast kind's own fields; None for other kinds"
    )
    ensemble: EnsembleInfo | None = Field(
        None, description="the members and weights of an ensemble; None for a single network"
    )
    global_: GlobalInfo | None = Field(
        None,
        alias="global",
        description="the global kind's own fields (one network across a panel); None for others",
    )
    panel_fits: PanelFitsInfo | None = Field(
        None,
        description="the statsforecast_panel kind's own fields (one statistical model fitted"
        " per series of a panel); None for others",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_format_1(cls, data: Any) -> Any:
        """Format 1 (no kind, the SavedModel's fields top-level) read as format 2."""
        if not isinstance(data, dict) or data.get("format_version", FORMAT_VERSION) != 1:
            return data
        moved = {k: data[k] for k in _SAVEDMODEL_FIELDS if k in data}
        rest = {k: v for k, v in data.items() if k not in _SAVEDMODEL_FIELDS}
        return {**rest, "format_version": FORMAT_VERSION, "kind": SAVEDMODEL, SAVEDMODEL: moved}

    @model_validator(mode="after")
    def _family_fields(self) -> Self:
        if self.kind == SAVEDMODEL and (self.savedmodel is None or self.residual_quantiles is None):
            raise ValueError("a savedmodel version needs its savedmodel and residual_quantiles")
        if self.kind == STATSFORECAST and self.statsforecast is None:
            raise ValueError("a statsforecast version needs its statsforecast fields")
        if self.kind == ENSEMBLE and (self.ensemble is None or self.residual_quantiles is None):
            raise ValueError("an ensemble version needs its ensemble and residual_quantiles")
        if self.kind == GLOBAL and (
            self.global_ is None or self.residual_quantiles is None or self.validation.panel is None
        ):
            raise ValueError(
                "a global version needs its global block, residual_quantiles and validation.panel"
            )
        if self.kind == STATSFORECAST_PANEL and (
            self.panel_fits is None
            or self.residual_quantiles is None
            or self.validation.panel is None
        ):
            raise ValueError(
                "a statsforecast_panel version needs its panel_fits block, residual_quantiles"
                " and validation.panel"
            )
        return self

    @property
    def holdout_mae(self) -> float | None:
        """The one-step MAE on the training part's hold-out, whatever the kind (None: unknown)."""
        if self.savedmodel is not None:
            return self.savedmodel.hyperparameters.holdout_mae
        if self.statsforecast is not None:
            return self.statsforecast.holdout_mae
        return None

    @property
    def network(self) -> SavedModelInfo:
        """The savedmodel block; ValueError for a version of another kind."""
        if self.savedmodel is None:
            raise ValueError(f"a {self.kind} version has no savedmodel fields")
        return self.savedmodel
