"""Graded tests in the course's style: each takes the implementation under test.

A learner grades their own notebook with, for example::

    from tests.public_tests import test_compute_loss
    test_compute_loss(compute_loss)

Each function raises AssertionError with a hint on the first mismatch and prints
"All tests passed!" otherwise. Every expected value is computed independently of
the kit: by hand in the docstrings, or with plain numpy on fixed weights.
"""

from __future__ import annotations

from collections import deque, namedtuple
from typing import Any, Callable

import numpy as np

_GREEN = "\033[92m"
_RESET = "\033[0m"

Experience = namedtuple("Experience", field_names=["state", "action", "reward", "next_state", "done"])


def _passed() -> None:
    print(f"{_GREEN}All tests passed!{_RESET}")


def _np(x: Any) -> np.ndarray:
    return np.asarray(x)


# --------------------------------------------------------------------- UNQ_C1
def test_network(target: Any, state_size: int = 8, num_actions: int = 4) -> None:
    """``Input(state_size) -> Dense(64, relu) -> Dense(64, relu) -> Dense(num_actions, linear)``."""
    import keras

    assert isinstance(target, keras.Sequential), f"expected a keras.Sequential, got {type(target).__name__}"
    dense = [layer for layer in target.layers if isinstance(layer, keras.layers.Dense)]
    assert len(target.layers) == 3 and len(dense) == 3, "expected exactly three Dense layers"
    expected = [(64, "relu"), (64, "relu"), (num_actions, "linear")]
    for i, (layer, (units, activation)) in enumerate(zip(dense, expected)):
        assert layer.units == units, f"layer {i}: expected {units} units, got {layer.units}"
        name = layer.activation.__name__
        assert name == activation, f"layer {i}: expected activation {activation}, got {name}"
    assert tuple(target.input_shape) == (None, state_size), \
        f"input shape should be (None, {state_size}), got {target.input_shape}"
    assert tuple(target.output_shape) == (None, num_actions), \
        f"output shape should be (None, {num_actions}), got {target.output_shape}"
    _passed()


def test_optimizer(target: Any, ALPHA: float) -> None:
    """Adam with learning rate ALPHA."""
    import keras

    assert isinstance(target, keras.optimizers.Adam), f"expected Adam, got {type(target).__name__}"
    assert np.isclose(float(_np(target.learning_rate)), ALPHA), \
        f"learning rate should be {ALPHA}, got {float(_np(target.learning_rate))}"
    _passed()


# --------------------------------------------------------------------- UNQ_C2
def test_compute_loss(target: Callable) -> None:
    """Worked by hand (gamma 0.9)::

        Q(s)       = [[1, 2], [3, 4], [5, 6]], actions [1, 0, 1]   -> Q(s, a)   = [2, 3, 6]
        Q_target(s') = [[0.5, 1.5], [2, -1], [10, 0]]              -> max       = [1.5, 2, 10]
        rewards [1, -1, 0.5], done [0, 1, 0]                       -> y         = [2.35, -1, 9.5]
        errors [0.35, -4, 3.5], squares [0.1225, 16, 12.25]        -> loss      = 9.4575
    """
    states = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    next_states = states + 10.0
    q_table = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    target_table = np.array([[0.5, 1.5], [2, -1], [10, 0]], dtype=np.float32)
    actions = np.array([1, 0, 1], dtype=np.float32)
    rewards = np.array([1, -1, 0.5], dtype=np.float32)
    done_vals = np.array([0, 1, 0], dtype=np.float32)

    def q_network(s: Any) -> np.ndarray:
        assert np.allclose(_np(s), states), "q_network must be called on the states"
        return q_table

    def target_q_network(s: Any) -> np.ndarray:
        assert np.allclose(_np(s), next_states), "target_q_network must be called on the next states"
        return target_table

    experiences = (states, actions, rewards, next_states, done_vals)
    loss = float(_np(target(experiences, 0.9, q_network, target_q_network)))
    assert np.isclose(loss, 9.4575, atol=1e-5), f"wrong loss: expected 9.4575, got {loss}"

    loss = float(_np(target(experiences, 0.0, q_network, target_q_network)))
    # gamma 0: y = r = [1, -1, 0.5]; errors [-1, -4, -5.5]; mean of squares (1 + 16 + 30.25) / 3
    assert np.isclose(loss, 47.25 / 3, atol=1e-5), f"wrong loss with gamma 0: expected {47.25 / 3}, got {loss}"

    all_done = (states, actions, rewards, next_states, np.ones(3, dtype=np.float32))
    loss = float(_np(target(all_done, 0.9, q_network, target_q_network)))
    assert np.isclose(loss, 47.25 / 3, atol=1e-5), "terminal transitions must not bootstrap: y = r when done"

    rng = np.random.default_rng(7)
    batch, n_actions = 64, 4
    q_rand = rng.normal(size=(batch, n_actions)).astype(np.float32)
    t_rand = rng.normal(size=(batch, n_actions)).astype(np.float32)
    a_rand = rng.integers(0, n_actions, batch).astype(np.float32)
    r_rand = rng.normal(size=batch).astype(np.float32)
    d_rand = (rng.random(batch) < 0.3).astype(np.float32)
    s_rand = rng.normal(size=(batch, 8)).astype(np.float32)
    expected_y = r_rand + (1 - d_rand) * 0.995 * t_rand.max(axis=1)
    expected = np.mean((expected_y - q_rand[np.arange(batch), a_rand.astype(int)]) ** 2)
    loss = float(_np(target((s_rand, a_rand, r_rand, s_rand + 1, d_rand), 0.995,
                            lambda s: q_rand, lambda s: t_rand)))
    assert np.isclose(loss, expected, rtol=1e-5), f"random batch: expected {expected}, got {loss}"
    _passed()


# ------------------------------------------------------------- agent_learn
def _dense_weights(model: Any) -> list[np.ndarray]:
    return [np.array(_np(w), dtype=np.float64) for w in model.weights]


def _numpy_loss_gradient(w: list[np.ndarray], t: list[np.ndarray], experiences: tuple,
                         gamma: float) -> list[np.ndarray]:
    """Gradient of the MSE DQN loss w.r.t. the Q-network's weights, by hand-written backprop."""
    s, a, r, s2, d = (np.asarray(x, dtype=np.float64) for x in experiences)
    a = a.astype(int)
    n = s.shape[0]

    def forward(ws: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, ...]:
        z1 = x @ ws[0] + ws[1]
        h1 = np.maximum(z1, 0)
        z2 = h1 @ ws[2] + ws[3]
        h2 = np.maximum(z2, 0)
        return h1, h2, h2 @ ws[4] + ws[5]

    _, _, q_next = forward(t, s2)
    y = r + (1 - d) * gamma * q_next.max(axis=1)
    h1, h2, q = forward(w, s)
    dq = np.zeros_like(q)
    dq[np.arange(n), a] = -2.0 * (y - q[np.arange(n), a]) / n
    dw3, db3 = h2.T @ dq, dq.sum(0)
    dh2 = (dq @ w[4].T) * (h2 > 0)
    dw2, db2 = h1.T @ dh2, dh2.sum(0)
    dh1 = (dh2 @ w[2].T) * (h1 > 0)
    dw1, db1 = s.T @ dh1, dh1.sum(0)
    return [dw1, db1, dw2, db2, dw3, db3]


def test_agent_learn(target: Callable, q_network: Any, target_q_network: Any, optimizer: Any,
                     gamma: float = 0.995, TAU: float = 1e-3, ALPHA: float = 1e-3) -> None:
    """One call of ``agent_learn(experiences, gamma)`` must (1) take one Adam step on the
    Q-network along the gradient of the MSE loss and (2) soft-update the target network.

    The expected weights are computed with numpy: backprop written out, Adam's first
    step ``theta -= lr * sqrt(1 - b2) / (1 - b1) * m / (sqrt(v) + eps)`` with
    ``m = (1 - b1) g`` and ``v = (1 - b2) g^2``, then
    ``target <- TAU * theta + (1 - TAU) * target``. Needs a fresh optimizer.
    """
    assert int(_np(optimizer.iterations)) == 0, \
        "test_agent_learn needs a fresh optimizer (iterations == 0): rebuild it before grading"
    rng = np.random.default_rng(3)
    state_size = int(q_network.input_shape[-1])
    n_actions = int(q_network.output_shape[-1])
    q_init = [rng.normal(0, 0.3, size=np.shape(v)).astype(np.float32) for v in q_network.weights]
    t_init = [rng.normal(0, 0.3, size=np.shape(v)).astype(np.float32) for v in target_q_network.weights]
    q_network.set_weights(q_init)
    target_q_network.set_weights(t_init)
    batch = 64
    experiences = (
        rng.normal(size=(batch, state_size)).astype(np.float32),
        rng.integers(0, n_actions, batch).astype(np.float32),
        rng.normal(size=batch).astype(np.float32),
        rng.normal(size=(batch, state_size)).astype(np.float32),
        (rng.random(batch) < 0.25).astype(np.float32),
    )
    w = [x.astype(np.float64) for x in q_init]
    t = [x.astype(np.float64) for x in t_init]
    grads = _numpy_loss_gradient(w, t, experiences, gamma)
    beta1, beta2, eps = 0.9, 0.999, 1e-7
    step = ALPHA * np.sqrt(1 - beta2) / (1 - beta1)
    expected_q = [wi - step * ((1 - beta1) * g) / (np.sqrt((1 - beta2) * g * g) + eps) for wi, g in zip(w, grads)]
    expected_target = [TAU * qi + (1 - TAU) * ti for qi, ti in zip(expected_q, t)]

    target(experiences, gamma)

    got_q = _dense_weights(q_network)
    got_target = _dense_weights(target_q_network)
    for i, (got, want) in enumerate(zip(got_q, expected_q)):
        assert np.allclose(got, want, atol=2e-6), \
            f"Q-network weight {i} after one Adam step: max error {np.abs(got - want).max():.2e}"
    for i, (got, want) in enumerate(zip(got_target, expected_target)):
        assert np.allclose(got, want, atol=1e-6), \
            f"target weight {i} is not TAU * theta + (1 - TAU) * theta_target: " \
            f"max error {np.abs(got - want).max():.2e}"
    _passed()


# -------------------------------------------------------- course helpers
def test_update_target_network(target: Callable, TAU: float = 1e-3) -> None:
    """``w_target <- TAU * w + (1 - TAU) * w_target`` for every weight, kernels and biases."""
    import keras

    def model() -> Any:
        return keras.Sequential([keras.layers.Input(shape=(3,)), keras.layers.Dense(2), keras.layers.Dense(1)])

    q, q_target = model(), model()
    rng = np.random.default_rng(0)
    w = [rng.normal(size=np.shape(v)).astype(np.float32) for v in q.weights]
    t = [rng.normal(size=np.shape(v)).astype(np.float32) for v in q_target.weights]
    q.set_weights(w)
    q_target.set_weights(t)
    target(q, q_target)
    for i, (got, wi, ti) in enumerate(zip(_dense_weights(q_target), w, t)):
        want = TAU * wi.astype(np.float64) + (1 - TAU) * ti.astype(np.float64)
        assert np.allclose(got, want, atol=1e-6), f"weight {i}: soft update wrong"
    for i, (got, wi) in enumerate(zip(_dense_weights(q), w)):
        assert np.array_equal(got, wi), f"the Q-network's weight {i} must not change"
    _passed()


def test_get_action(target: Callable) -> None:
    """epsilon 0: always ``argmax Q``; epsilon 1: every action, about uniformly; an int in range."""
    q_values = np.array([[0.1, -2.0, 3.5, 0.7]], dtype=np.float32)
    for _ in range(200):
        action = target(q_values, 0.0)
        assert int(action) == 2, f"with epsilon 0 the action must be argmax Q = 2, got {action}"
    counts = np.zeros(4)
    n = 4000
    for _ in range(n):
        action = int(target(q_values, 1.0))
        assert 0 <= action < 4, f"action {action} out of range"
        counts[action] += 1
    # Uniform: each count ~ Binomial(4000, 0.25), sd ~ 27; allow 6 sd.
    assert np.all(np.abs(counts - n / 4) < 165), f"with epsilon 1 actions should be uniform, got {counts}"
    greedy = sum(int(target(q_values, 0.5)) == 2 for _ in range(n)) / n
    # P(greedy) = 0.5 + 0.5 / 4 = 0.625
    assert abs(greedy - 0.625) < 0.05, f"with epsilon 0.5, argmax should be chosen ~62.5% of the time, got {greedy}"
    _passed()


def test_get_new_eps(target: Callable, E_DECAY: float = 0.995, E_MIN: float = 0.01) -> None:
    """``max(E_MIN, E_DECAY * epsilon)``."""
    assert np.isclose(target(1.0), E_DECAY), f"get_new_eps(1.0) should be {E_DECAY}"
    assert np.isclose(target(0.5), 0.5 * E_DECAY)
    assert np.isclose(target(E_MIN), E_MIN), "epsilon must not fall below E_MIN"
    assert np.isclose(target(E_MIN * 1.001), E_MIN), "the clamp applies when the decayed value is below E_MIN"
    epsilon = 1.0
    for _ in range(2000):
        epsilon = target(epsilon)
    assert np.isclose(epsilon, E_MIN), "after many episodes epsilon settles at E_MIN"
    _passed()


def test_check_update_conditions(target: Callable, MINIBATCH_SIZE: int = 64) -> None:
    """True when ``(t + 1) % num_steps == 0`` and the memory holds more than a mini-batch."""
    big = [0] * (MINIBATCH_SIZE + 1)
    small = [0] * MINIBATCH_SIZE
    table = [  # (t, num_steps, memory, expected)
        (3, 4, big, True), (7, 4, big, True), (0, 4, big, False), (4, 4, big, False),
        (3, 4, small, False), (0, 1, big, True), (5, 3, big, True), (6, 3, big, False),
    ]
    for t, k, memory, expected in table:
        got = bool(target(t, k, memory))
        assert got == expected, f"check_update_conditions(t={t}, {k}, len={len(memory)}) should be {expected}"
    _passed()


def test_get_experiences(target: Callable, MINIBATCH_SIZE: int = 64, state_size: int = 8) -> None:
    """A mini-batch of distinct stored experiences: five float32 tensors of the right shapes."""
    memory: deque = deque(maxlen=1000)
    for i in range(1500):  # wraps around: experiences 500..1499 remain
        state = np.full(state_size, i, dtype=np.float32)
        memory.append(Experience(state, i % 4, float(i), state + 0.5, i % 3 == 0))
    states, actions, rewards, next_states, done_vals = target(memory)
    shapes = [(MINIBATCH_SIZE, state_size), (MINIBATCH_SIZE,), (MINIBATCH_SIZE,),
              (MINIBATCH_SIZE, state_size), (MINIBATCH_SIZE,)]
    for name, x, shape in zip(("states", "actions", "rewards", "next_states", "done_vals"),
                              (states, actions, rewards, next_states, done_vals), shapes):
        assert tuple(x.shape) == shape, f"{name} should have shape {shape}, got {tuple(x.shape)}"
        assert str(x.dtype) in ("float32", "<dtype: 'float32'>"), f"{name} should be float32, got {x.dtype}"
    ids = _np(rewards).astype(int)
    assert len(set(ids.tolist())) == MINIBATCH_SIZE, "a mini-batch must hold distinct experiences"
    assert ids.min() >= 500, "sampled an experience that the deque already dropped"
    assert np.array_equal(_np(states)[:, 0], ids), "states do not match their rewards"
    assert np.allclose(_np(next_states), _np(states) + 0.5), "next_states do not match states"
    assert np.array_equal(_np(actions), ids % 4), "actions do not match"
    assert np.array_equal(_np(done_vals), (ids % 3 == 0).astype(np.float32)), "done_vals do not match"
    _passed()
