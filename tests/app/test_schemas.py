"""The request schema agrees with the training side's registry of baselines."""

from __future__ import annotations

import typing

from app.schemas import BaselineName
from training.baselines import BASELINES


def test_baseline_names_are_the_training_baselines() -> None:
    assert set(typing.get_args(BaselineName)) == set(BASELINES)
