"""Helpers of the training tests (fixtures live in conftest.py, constants in tests/support.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from contract.metadata import (
    DatasetInfo,
    Hyperparameters,
    ModelMetadata,
    ResidualQuantiles,
    SavedModelInfo,
    Scores,
    Validation,
)


def metadata_for_tests(**changes: object) -> ModelMetadata:
    """A valid, made-up :class:`ModelMetadata` for tests of the store alone."""
    scores = Scores(mae=1.0, mse=1.0, rmse=1.0, mape=None, mase=None)
    fields: dict[str, object] = {
        "name": "m",
        "version": 0,
        "architecture": "linear",
        "window_size": 4,
        "horizon": 1,
        "season_length": 7,
        "dataset": DatasetInfo(name="d", length=10, sha256="0" * 64, split=8),
        "savedmodel": SavedModelInfo(
            tensorflow_version="none",
            keras_version="none",
            epochs=1,
            hyperparameters=Hyperparameters(
                window_size=4,
                horizon=1,
                batch_size=1,
                optimizer="adam",
                learning_rate=1e-3,
                max_epochs=1,
                patience=1,
                holdout=0.2,
                refit=False,
                seed=0,
                find_lr=False,
                stateful_training=False,
            ),
        ),
        "training_seconds": 0.0,
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        "validation": Validation(start=8, end=10, scores={"model": scores}),
        "residual_quantiles": ResidualQuantiles(levels=[0.5], by_step=[[0.0]], count=2),
    }
    fields.update(changes)
    return ModelMetadata.model_validate(fields)
