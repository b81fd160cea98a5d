"""Experience replay: the course's ``deque`` of namedtuples, and a lean equivalent.

The course keeps ``deque(maxlen=MEMORY_SIZE)`` of ``experience`` namedtuples and
draws a mini-batch with ``random.sample``. :class:`ReplayMemory` keeps the same
interface (``append``, ``len``, a random mini-batch) over preallocated numpy
arrays, so a transition costs one row write and a mini-batch one fancy index.
For the same indices both give the same batch (``tests/test_replay.py``).

Gymnasium 1.x: store ``done = terminated``, never ``terminated or truncated``. A
time-limit truncation is not a terminal state, so its Bellman target must still
bootstrap from ``max_a' Q(s', a')``.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Iterable, Sequence

import numpy as np

experience = namedtuple("Experience", field_names=["state", "action", "reward", "next_state", "done"])

Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def sample_indices(rng: np.random.Generator, size: int, batch_size: int) -> np.ndarray:
    """``batch_size`` distinct indices drawn uniformly from ``range(size)``.

    Distinct, like the course's ``random.sample``. When duplicates are unlikely
    (``size >= 4 * batch_size**2``) it draws with replacement and redraws the whole
    batch on a repeat, which is exactly uniform over distinct batches and about ten
    times cheaper than ``Generator.choice(replace=False)``.
    """
    if batch_size > size:
        raise ValueError(f"cannot draw {batch_size} transitions from a memory of {size}")
    if size >= 4 * batch_size * batch_size:
        while True:
            indices = rng.integers(0, size, batch_size)
            if np.unique(indices).size == batch_size:
                return indices
    return rng.choice(size, size=batch_size, replace=False)


def row_columns(state_size: int) -> tuple:
    """Where each field sits in a packed row ``[state, action, reward, next_state, done]``:
    index these into a row (or ``[:, c]`` into a batch, numpy or TensorFlow alike)."""
    s = state_size
    return (slice(0, s), s, s + 1, slice(s + 2, 2 * s + 2), 2 * s + 2)


def unpack(packed: Any, state_size: int) -> tuple:
    """``(states, actions, rewards, next_states, done_vals)`` of a packed batch (numpy or tensor)."""
    return tuple(packed[:, c] for c in row_columns(state_size))


def batch_from_deque(memory: Sequence[experience], indices: Iterable[int]) -> Batch:
    """The course's ``get_experiences`` conversion, for given indices, as float32 arrays."""
    chosen = [memory[i] for i in indices]
    return (
        np.array([e.state for e in chosen], dtype=np.float32),
        np.array([e.action for e in chosen], dtype=np.float32),
        np.array([e.reward for e in chosen], dtype=np.float32),
        np.array([e.next_state for e in chosen], dtype=np.float32),
        np.array([e.done for e in chosen], dtype=np.uint8).astype(np.float32),
    )


class ReplayMemory:
    """A ring buffer of transitions in one preallocated float32 array.

    Each row is ``[state, action, reward, next_state, done]`` (``2 * state_size + 3``
    floats), so a mini-batch is one fancy index and one array handed to the learner.
    ``self[i]`` returns the ``i``-th oldest transition as an ``experience``, in the
    same order as ``deque(maxlen=capacity)``. Memory: ``capacity * (2 * state_size + 3) * 4``
    bytes (7.6 MB for 100,000 LunarLander transitions). Actions are stored as
    float32, exact for any index below 2**24.
    """

    def __init__(self, capacity: int, state_size: int) -> None:
        if capacity <= 0 or state_size <= 0:
            raise ValueError("capacity and state_size must be positive")
        self.capacity = int(capacity)
        self.state_size = s = int(state_size)
        self.data = np.zeros((self.capacity, 2 * s + 3), dtype=np.float32)
        self._columns = row_columns(s)
        self.position = 0  # next row to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def append(self, item: experience) -> None:
        """Store one ``experience(state, action, reward, next_state, done)``."""
        self.add(*item)

    def add(self, state: np.ndarray, action: int, reward: float, next_state: np.ndarray, done: bool) -> None:
        """Store one transition, overwriting the oldest when full."""
        row = self.data[self.position]
        for column, value in zip(self._columns, (state, action, reward, next_state, done)):
            row[column] = value
        self.position = (self.position + 1) % self.capacity
        if self.size < self.capacity:
            self.size += 1

    def _rows(self, indices: np.ndarray | int) -> np.ndarray | int:
        """Physical rows of logical (oldest-first) indices."""
        start = self.position if self.size == self.capacity else 0
        return (start + indices) % self.capacity

    def __getitem__(self, index: int) -> experience:
        if not -self.size <= index < self.size:
            raise IndexError("replay memory index out of range")
        state, action, reward, next_state, done = (self.data[self._rows(index % self.size)][c]
                                                   for c in self._columns)
        return experience(state.copy(), int(action), float(reward), next_state.copy(), bool(done))

    def gather_packed(self, indices: np.ndarray) -> np.ndarray:
        """Rows ``[s, a, r, s', done]`` of the transitions at logical ``indices``."""
        return self.data[self._rows(np.asarray(indices))]

    def gather(self, indices: np.ndarray) -> Batch:
        """``(states, actions, rewards, next_states, done_vals)`` at logical ``indices``, float32."""
        return unpack(self.gather_packed(indices), self.state_size)  # type: ignore[return-value]

    def sample_packed(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """A uniform random mini-batch of distinct transitions, packed rows."""
        return self.gather_packed(sample_indices(rng, self.size, batch_size))

    # --- persistence (no pickle) -----------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """The stored rows, oldest first, and the capacity, for ``numpy.savez``."""
        return {"rows": self.gather_packed(np.arange(self.size)),
                "capacity": np.array(self.capacity, dtype=np.int64)}

    @classmethod
    def from_state_dict(cls, data: dict[str, np.ndarray]) -> "ReplayMemory":
        rows = np.asarray(data["rows"], dtype=np.float32)
        capacity = int(data["capacity"])
        if rows.ndim != 2 or (rows.shape[1] - 3) % 2 or rows.shape[0] > capacity:
            raise ValueError(f"saved replay memory has an invalid shape {rows.shape}")
        memory = cls(capacity, (rows.shape[1] - 3) // 2)
        n = rows.shape[0]
        memory.data[:n] = rows
        memory.size = n
        memory.position = n % memory.capacity
        return memory
