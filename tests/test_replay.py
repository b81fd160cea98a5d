"""The lean replay memory against the course's deque of namedtuples."""

from collections import deque

import numpy as np
import pytest

from lunar.replay import ReplayMemory, batch_from_deque, experience, sample_indices


def _fill(capacity, count, state_size=8, seed=0):
    rng = np.random.default_rng(seed)
    course = deque(maxlen=capacity)
    lean = ReplayMemory(capacity, state_size)
    for i in range(count):
        e = experience(rng.normal(size=state_size).astype(np.float32), int(rng.integers(4)),
                       float(rng.normal()), rng.normal(size=state_size).astype(np.float32), bool(i % 7 == 0))
        course.append(e)
        lean.append(e)
    return course, lean


@pytest.mark.parametrize("count", [50, 100, 257])
def test_replay_memory_same_batch_as_course_deque_for_same_indices(count):
    course, lean = _fill(100, count)
    assert len(lean) == len(course) == min(count, 100)
    indices = sample_indices(np.random.default_rng(1), len(course), 32)
    for got, want in zip(lean.gather(indices), batch_from_deque(course, indices)):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


def test_replay_memory_keeps_deque_order_after_wraparound():
    course, lean = _fill(10, 23)
    for i in range(10):
        for got, want in zip(lean[i], course[i]):
            np.testing.assert_array_equal(np.asarray(got, dtype=np.float32), np.asarray(want, dtype=np.float32))
    np.testing.assert_array_equal(lean[-1].state, course[-1].state)


def test_replay_memory_sample_is_distinct_and_seeded():
    _, lean = _fill(50_000, 50_000)
    a = lean.sample_packed(64, np.random.default_rng(5))
    b = lean.sample_packed(64, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a, axis=0)) == 64


def test_sample_indices_uniform_over_small_memory():
    rng = np.random.default_rng(0)
    counts = np.zeros(70)
    for _ in range(2000):
        idx = sample_indices(rng, 70, 64)
        assert len(set(idx.tolist())) == 64
        counts[idx] += 1
    expected = 2000 * 64 / 70
    assert np.all(np.abs(counts - expected) < 6 * np.sqrt(expected * (1 - 64 / 70)))


def test_sample_indices_refuses_batch_larger_than_memory():
    with pytest.raises(ValueError):
        sample_indices(np.random.default_rng(0), 10, 11)


def test_replay_memory_state_dict_round_trip():
    _, lean = _fill(30, 45)
    restored = ReplayMemory.from_state_dict(lean.state_dict())
    assert len(restored) == len(lean)
    for i in range(len(lean)):
        for got, want in zip(restored[i], lean[i]):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    # appending continues to overwrite the oldest, as in the original
    e = experience(np.ones(8, np.float32), 1, 2.0, np.ones(8, np.float32), True)
    restored.append(e)
    lean.append(e)
    np.testing.assert_array_equal(restored.gather_packed(np.arange(30)), lean.gather_packed(np.arange(30)))


def test_replay_memory_100k_lunar_transitions_under_10_mb():
    assert ReplayMemory(100_000, 8).data.nbytes < 10 * 2**20
