"""Constants and helpers shared by the training tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from training import store

WINDOW = 16
MULTI_STEP = {"dense": 3, "gru": 3}  # one vector and one sequence architecture with horizon > 1


def metadata_for_tests(**changes: object) -> store.ModelMetadata:
    """A valid, made-up :class:`ModelMetadata` for tests of the store alone."""
    scores = store.Scores(mae=1.0, mse=1.0, rmse=1.0, mape=None, mase=None)
    fields: dict[str, object] = {
        "name": "m",
        "version": 0,
        "architecture": "linear",
        "window_size": 4,
        "horizon": 1,
        "season_length": 7,
        "dataset": store.DatasetInfo(name="d", length=10, sha256="0" * 64, split=8),
        "hyperparameters": {},
        "epochs": 1,
        "training_seconds": 0.0,
        "tensorflow_version": "none",
        "keras_version": "none",
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        "validation": store.Validation(start=8, end=10, scores={"model": scores}),
        "residual_quantiles": store.ResidualQuantiles(levels=[0.5], by_step=[[0.0]], count=2),
    }
    fields.update(changes)
    return store.ModelMetadata.model_validate(fields)
