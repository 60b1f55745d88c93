"""Windows by their exact contents on a series whose values are their own indices."""

from __future__ import annotations

import numpy as np

from training import windows

X = np.arange(10, dtype=np.float64)


def test_sliding_windows() -> None:
    out = windows.sliding(X, 4)
    assert out.shape == (7, 4)
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(out[-1], [6, 7, 8, 9])


def test_seq2vec_windows_and_targets() -> None:
    inputs, targets = windows.seq2vec_arrays(X, window_size=3, horizon=2)
    assert inputs.shape == (6, 3)
    assert targets.shape == (6, 2)
    np.testing.assert_array_equal(inputs[0], [0, 1, 2])
    np.testing.assert_array_equal(targets[0], [3, 4])
    np.testing.assert_array_equal(inputs[-1], [5, 6, 7])
    np.testing.assert_array_equal(targets[-1], [8, 9])
    # Every target follows its window directly.
    np.testing.assert_array_equal(targets[:, 0], inputs[:, -1] + 1)


def test_seq2seq_targets_follow_every_step() -> None:
    inputs, targets = windows.seq2seq_arrays(X, window_size=3, horizon=2)
    assert inputs.shape == (6, 3)
    assert targets.shape == (6, 3, 2)
    np.testing.assert_array_equal(inputs[1], [1, 2, 3])
    np.testing.assert_array_equal(targets[1], [[2, 3], [3, 4], [4, 5]])
    for i in range(len(inputs)):
        for s in range(3):
            np.testing.assert_array_equal(targets[i, s], X[i + s + 1 : i + s + 3])
    _, vec_targets = windows.seq2vec_arrays(X, 3, 2)
    np.testing.assert_array_equal(targets[:, -1], vec_targets)


def test_consecutive_windows_start_where_the_last_ended() -> None:
    inputs, targets = windows.consecutive(X, window_size=3, horizon=1)
    np.testing.assert_array_equal(inputs, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(targets[:, :, 0], [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_shuffled_dataset_keeps_every_window_with_its_targets() -> None:
    inputs, targets = windows.seq2vec_arrays(X, 3, 2)
    ds = windows.dataset(inputs, targets, batch_size=4, shuffle=True, seed=0)
    got = list(ds.as_numpy_iterator())
    assert [len(x) for x, _ in got] == [4, 2]
    assert got[0][0].dtype == np.float32
    seen = np.concatenate([x for x, _ in got])
    np.testing.assert_array_equal(np.sort(seen[:, 0]), inputs[:, 0])
    for x, y in got:
        np.testing.assert_array_equal(y[:, 0], x[:, -1] + 1)


def test_ordered_dataset_keeps_order_and_full_batches_only() -> None:
    # Unshuffled is the stateful case: state carries from batch to batch, so sizes must match.
    inputs, targets = windows.consecutive(X, 3, 1)
    got = list(windows.dataset(inputs, targets, batch_size=2, shuffle=False, seed=0))
    assert len(got) == 1
    np.testing.assert_array_equal(got[0][0].numpy(), inputs[:2])
