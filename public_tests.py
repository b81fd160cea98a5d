"""The lab's graded tests, in the course's style: each takes the implementation under test.

From the repository root or from ``notebooks/`` (the kit installs this module)::

    import utils
    from public_tests import *

    test_network(q_network)
    test_optimizer(optimizer, ALPHA)
    test_compute_loss(compute_loss)

Each test prints "All tests passed!" or raises ``AssertionError`` with a message that
names the mistake. Checks run from the most specific to the most general, so a
common mistake gets its own message before a generic "wrong value". The inputs are
what the course's loop passes: ``tf.Tensor`` mini-batches and Q-values of the lab's
shapes (8 state values, 4 actions). Every expected value is computed independently
of the kit: by hand in the docstrings, or with plain numpy on fixed weights.
"""

from __future__ import annotations

from collections import deque, namedtuple
from typing import Any, Callable

import numpy as np

__all__ = [
    "test_network", "test_optimizer", "test_compute_loss", "test_agent_learn",
    "test_update_target_network", "test_get_action", "test_get_new_eps",
    "test_check_update_conditions", "test_get_experiences",
]

_GREEN = "\033[92m"
_RESET = "\033[0m"

Experience = namedtuple("Experience", field_names=["state", "action", "reward", "next_state", "done"])


def _passed() -> None:
    print(f"{_GREEN}All tests passed!{_RESET}")


def _np(x: Any) -> np.ndarray:
    return np.asarray(x)


def _keras_instance(target: Any, what: str, expected: type) -> None:
    """Fail with the learner's mistake when ``target`` is not an instance of ``expected``."""
    name = expected.__name__
    if isinstance(target, type):
        raise AssertionError(f"{what} is the class {target.__name__} itself: create one, "
                             f"e.g. {what} = {target.__name__}(...)")
    if type(target).__module__.split(".")[0] == "tf_keras":
        raise AssertionError(f"{what} is a Keras 2 object (tf_keras): TF_USE_LEGACY_KERAS=1 is set in this "
                             "environment; unset it and restart the kernel (the lab uses Keras 3)")
    assert isinstance(target, expected), f"{what} should be a keras {name}, got {type(target).__name__}"


# --------------------------------------------------------------------- UNQ_C1
def test_network(target: Any, state_size: int = 8, num_actions: int = 4) -> None:
    """``Input(state_size) -> Dense(64, relu) -> Dense(64, relu) -> Dense(num_actions, linear)``."""
    import keras

    _keras_instance(target, "the network", keras.Sequential)
    dense = [layer for layer in target.layers if isinstance(layer, keras.layers.Dense)]
    others = [type(layer).__name__ for layer in target.layers if not isinstance(layer, keras.layers.Dense)]
    assert not others, f"expected only Dense layers after the Input, found {', '.join(others)}"
    assert len(dense) == 3, f"expected exactly three Dense layers, found {len(dense)}"
    try:
        input_shape = tuple(target.input_shape)
    except (AttributeError, ValueError):
        raise AssertionError("the network has no input shape: begin the Sequential with "
                             f"tf.keras.layers.Input(shape=({state_size},))") from None
    assert input_shape == (None, state_size), f"input shape should be (None, {state_size}), got {input_shape}"
    expected = [(64, "relu"), (64, "relu"), (num_actions, "linear")]
    for i, (layer, (units, activation)) in enumerate(zip(dense, expected)):
        assert layer.units == units, f"Dense layer {i + 1}: expected {units} units, got {layer.units}"
        name = getattr(layer.activation, "__name__", str(layer.activation))
        assert name == activation, f"Dense layer {i + 1}: expected activation {activation!r}, got {name!r}"
    output_shape = tuple(target.output_shape)
    assert output_shape == (None, num_actions), f"output shape should be (None, {num_actions}), got {output_shape}"
    _passed()


def test_optimizer(target: Any, ALPHA: float) -> None:
    """Adam with learning rate ALPHA."""
    import keras

    _keras_instance(target, "optimizer", keras.optimizers.Adam)
    rate = float(_np(target.learning_rate))
    assert np.isclose(rate, ALPHA), f"the learning rate should be ALPHA = {ALPHA}, got {rate}"
    _passed()


# --------------------------------------------------------------------- UNQ_C2
def _worked_example() -> dict[str, np.ndarray]:
    """The mini-batch of :func:`test_compute_loss`: 3 transitions, 8 state values, 4 actions."""
    states = np.arange(24, dtype=np.float32).reshape(3, 8) / 10
    return {
        "states": states,
        "next_states": states + 10.0,
        "actions": np.array([1, 0, 3], dtype=np.float32),
        "rewards": np.array([1, -1, 0.5], dtype=np.float32),
        "done_vals": np.array([0, 1, 0], dtype=np.float32),
        "q_s": np.array([[1, 2, 0, -1], [3, 4, 1, 0], [5, 6, 2, 7]], dtype=np.float32),
        "q_next": np.array([[4, -2, 1, 0], [1, 1, 6, 2], [0, 3, 1, 1]], dtype=np.float32),
        "target_s": np.array([[-3, 0, 2, 1], [0, -1, 5, 1], [2, 2, 2, 2]], dtype=np.float32),
        "target_next": np.array([[0.5, 1.5, -2, 1], [2, -1, 0, 3], [10, 0, 4, 1]], dtype=np.float32),
    }


def _stub_network(name: str, on_states: np.ndarray, on_next: np.ndarray, ex: dict) -> Callable:
    """A network as a function: fixed Q-values for the states and for the next states."""
    import tensorflow as tf

    def network(x: Any) -> Any:
        x = _np(x)
        if x.shape == ex["states"].shape and np.allclose(x, ex["states"]):
            return tf.constant(on_states)
        if x.shape == ex["next_states"].shape and np.allclose(x, ex["next_states"]):
            return tf.constant(on_next)
        raise AssertionError(f"{name} was called on something that is neither the mini-batch's states "
                             "nor its next states")

    return network


def _loss_mistakes(ex: dict, gamma: float) -> list[tuple[str, float]]:
    """The loss that each common mistake gives on ``ex``, with the message that names it."""
    rows = np.arange(len(ex["actions"]))
    a = ex["actions"].astype(int)
    r, d = ex["rewards"].astype(np.float64), ex["done_vals"].astype(np.float64)
    q_sa = ex["q_s"][rows, a]
    max_next = ex["target_next"].max(axis=1)
    y = r + (1 - d) * gamma * max_next

    def mse(targets: np.ndarray, predictions: np.ndarray = q_sa) -> float:
        return float(np.mean((targets - predictions) ** 2))

    return [
        ("terminal transitions must not bootstrap: y = R when the episode ended, so multiply "
         "gamma * max Q^(s', a') by (1 - done_vals)", mse(r + gamma * max_next)),
        ("the targets use done_vals where they need (1 - done_vals)", mse(r + d * gamma * max_next)),
        ("the targets must be discounted: y = R + (1 - done_vals) * gamma * max Q^(s', a')",
         mse(r + (1 - d) * max_next)),
        ("the targets y must come from target_q_network(next_states), not from q_network",
         mse(r + (1 - d) * gamma * ex["q_next"].max(axis=1))),
        ("the targets y need the next states: target_q_network(next_states), not target_q_network(states)",
         mse(r + (1 - d) * gamma * ex["target_s"].max(axis=1))),
        ("Q(s, a) must come from q_network(states), not from the next states", mse(y, ex["q_next"][rows, a])),
        ("Q(s, a) must come from q_network, not from target_q_network", mse(y, ex["target_s"][rows, a])),
        ("Q(s, a) is the value of the action taken (actions), not the largest Q-value",
         mse(y, ex["q_s"].max(axis=1))),
        ("the loss is the mean of the squared errors, not their sum", float(np.sum((y - q_sa) ** 2))),
        ("the loss squares the errors (mean squared error), not their absolute values",
         float(np.mean(np.abs(y - q_sa)))),
        ("the loss is the mean squared error, not its square root", float(np.sqrt(mse(y)))),
    ]


def _call_loss(target: Callable, experiences: tuple, gamma: float, q_network: Any, target_q_network: Any) -> float:
    loss = target(experiences, gamma, q_network, target_q_network)
    assert loss is not None, "compute_loss returned None: end it with `return loss`"
    shape = tuple(np.shape(_np(loss)))
    assert int(np.prod(shape)) == 1, \
        f"compute_loss must return one number, the mean over the mini-batch; got an array of shape {shape}"
    return float(_np(loss).reshape(()))


def test_compute_loss(target: Callable) -> None:
    """Worked by hand (gamma 0.9; 3 transitions of the lab's shapes, 4 actions)::

        Q(s)          = [[1, 2, 0, -1], [3, 4, 1, 0], [5, 6, 2, 7]], actions [1, 0, 3]  -> Q(s, a) = [2, 3, 7]
        Q^(s')        = [[0.5, 1.5, -2, 1], [2, -1, 0, 3], [10, 0, 4, 1]]             -> max    = [1.5, 3, 10]
        rewards [1, -1, 0.5], done [0, 1, 0]                                       -> y      = [2.35, -1, 9.5]
        errors y - Q(s, a) = [0.35, -4, 2.5], squares [0.1225, 16, 6.25]           -> loss   = 7.4575

    The networks are functions with fixed outputs on the states and on the next
    states, so each common mistake gives its own value and its own message.
    """
    import tensorflow as tf

    ex = _worked_example()
    q_network = _stub_network("q_network", ex["q_s"], ex["q_next"], ex)
    target_q_network = _stub_network("target_q_network", ex["target_s"], ex["target_next"], ex)
    experiences = tuple(tf.constant(ex[k]) for k in ("states", "actions", "rewards", "next_states", "done_vals"))
    loss = _call_loss(target, experiences, 0.9, q_network, target_q_network)
    if not np.isclose(loss, 7.4575, atol=1e-4):
        for message, value in _loss_mistakes(ex, 0.9):
            assert not np.isclose(loss, value, atol=1e-4), f"{message} (worked example: expected 7.4575, got {loss})"
        raise AssertionError(f"wrong loss on the worked example (see this test's docstring): "
                             f"expected 7.4575, got {loss}")
    loss = _call_loss(target, experiences, 0.0, q_network, target_q_network)
    # gamma 0: y = r = [1, -1, 0.5]; errors [-1, -4, -6.5]; mean of squares (1 + 16 + 42.25) / 3
    assert np.isclose(loss, 59.25 / 3, atol=1e-4), \
        f"with gamma 0 the targets are the rewards: expected {59.25 / 3:.4f}, got {loss}"
    _check_random_batch(target)
    _passed()


def _check_random_batch(target: Callable) -> None:
    """A random mini-batch of 64 against the formula in numpy."""
    import tensorflow as tf

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
    experiences = tuple(tf.constant(x) for x in (s_rand, a_rand, r_rand, s_rand + 1, d_rand))
    loss = _call_loss(target, experiences, 0.995, lambda s: tf.constant(q_rand), lambda s: tf.constant(t_rand))
    assert np.isclose(loss, expected, rtol=1e-5), f"random mini-batch of 64: expected {expected}, got {loss}"


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


def _first_adam_step(w: list[np.ndarray], grads: list[np.ndarray], alpha: float) -> list[np.ndarray]:
    """Adam's first step: ``theta -= lr * sqrt(1 - b2) / (1 - b1) * m / (sqrt(v) + eps)``,
    ``m = (1 - b1) g``, ``v = (1 - b2) g^2`` (Keras' defaults b1 0.9, b2 0.999, eps 1e-7)."""
    beta1, beta2, eps = 0.9, 0.999, 1e-7
    step = alpha * np.sqrt(1 - beta2) / (1 - beta1)
    return [wi - step * ((1 - beta1) * g) / (np.sqrt((1 - beta2) * g * g) + eps) for wi, g in zip(w, grads)]


def _q_atol(alpha: float) -> float:
    """Adam's first step moves each weight by up to about ``alpha`` (``m / sqrt(v)`` is about 1), and its
    float32 error scales with it: 2e-6 at the course's 1e-3."""
    return 2e-3 * alpha


# The soft update is float32 arithmetic on weights of about 0.3 (rounding below 1.2e-7); a
# soft update from the weights before the Adam step differs by TAU * ALPHA = 1e-6.
_TARGET_ATOL = 3e-7


def _same(got: list[np.ndarray], want: list[np.ndarray], atol: float) -> bool:
    return all(np.allclose(a, b, atol=atol) for a, b in zip(got, want))


def test_agent_learn(target: Callable, q_network: Any, target_q_network: Any, optimizer: Any,
                     gamma: float = 0.995, TAU: float = 1e-3, ALPHA: float = 1e-3) -> None:
    """One call of ``agent_learn(experiences, gamma)`` must (1) take one Adam step on the
    Q-network along the gradient of the MSE loss and (2) soft-update the target network,
    ``target <- TAU * theta + (1 - TAU) * target``, with the Q-network's new weights.

    The expected weights are computed with numpy: backprop written out and Adam's first
    step (:func:`_first_adam_step`). Needs a fresh optimizer; sets both networks' weights.
    """
    import keras

    assert target_q_network is not q_network, \
        "target_q_network is q_network (the same object): build two networks"
    _keras_instance(optimizer, "optimizer", keras.optimizers.Adam)
    assert int(_np(optimizer.iterations)) == 0, \
        "test_agent_learn needs a fresh optimizer (iterations == 0): rebuild it before grading"
    rng = np.random.default_rng(3)
    state_size, n_actions = int(q_network.input_shape[-1]), int(q_network.output_shape[-1])
    q_init = [rng.normal(0, 0.3, size=np.shape(v)).astype(np.float32) for v in q_network.weights]
    t_init = [rng.normal(0, 0.3, size=np.shape(v)).astype(np.float32) for v in target_q_network.weights]
    q_network.set_weights(q_init)
    target_q_network.set_weights(t_init)
    batch = 64
    arrays = (rng.normal(size=(batch, state_size)), rng.integers(0, n_actions, batch), rng.normal(size=batch),
              rng.normal(size=(batch, state_size)), rng.random(batch) < 0.25)
    experiences = tuple(np.asarray(x, dtype=np.float32) for x in arrays)
    w = [x.astype(np.float64) for x in q_init]
    t = [x.astype(np.float64) for x in t_init]
    grads = _numpy_loss_gradient(w, t, experiences, gamma)

    import tensorflow as tf
    try:
        target(tuple(tf.constant(x) for x in experiences), gamma)
    except ValueError as error:
        if "No gradients provided" not in str(error):
            raise
        raise AssertionError("no gradient reached the Q-network: compute the loss inside `with tf.GradientTape() "
                             "as tape:` and take tape.gradient(loss, q_network.trainable_variables)") from None

    got_q, got_target = _dense_weights(q_network), _dense_weights(target_q_network)
    expected_q = _first_adam_step(w, grads, ALPHA)
    expected_target = [TAU * q + (1 - TAU) * ti for q, ti in zip(got_q, t)]
    assert not _same(got_q, w, 0.0), \
        "agent_learn did not change the Q-network: apply the gradients with " \
        "optimizer.apply_gradients(zip(gradients, q_network.trainable_variables))"
    if not _same(got_target, expected_target, _TARGET_ATOL):
        _soft_update_mistakes(got_target, got_q, w, t, TAU)
    if not _same(got_q, expected_q, _q_atol(ALPHA)):
        _q_step_mistakes(got_q, w, grads, ALPHA)
    for i, (g, x) in enumerate(zip(got_q, expected_q)):
        assert np.allclose(g, x, atol=_q_atol(ALPHA)), \
            f"Q-network weight {i} after one Adam step on the MSE loss: max error {np.abs(g - x).max():.2e}"
    for i, (g, x) in enumerate(zip(got_target, expected_target)):
        assert np.allclose(g, x, atol=_TARGET_ATOL), \
            f"target weight {i} is not TAU * w + (1 - TAU) * w_target: max error {np.abs(g - x).max():.2e}"
    _passed()


def _q_step_mistakes(got: list[np.ndarray], before: list[np.ndarray], grads: list[np.ndarray],
                     alpha: float) -> None:
    """Names the mistake when the Q-network's new weights are what a known mistake gives."""
    assert not _same(got, [wi - alpha * g for wi, g in zip(before, grads)], _q_atol(alpha)), \
        "the Q-network took a plain gradient-descent (SGD) step: agent_learn must use the Adam optimizer"
    assert not _same(got, _first_adam_step(before, [-g for g in grads], alpha), _q_atol(alpha)), \
        "the Q-network moved up the gradient: apply the gradients of the loss, not their negatives"
    adam_share = _adam_sized(_first_adam_step(before, grads, alpha), before, alpha)
    assert _adam_sized(got, before, alpha) < 0.9 * adam_share, \
        "the Q-network took one Adam step, but along the gradient of another loss: differentiate " \
        "compute_loss(experiences, gamma, q_network, target_q_network) (check it with test_compute_loss)"


def _adam_sized(after: list[np.ndarray], before: list[np.ndarray], alpha: float) -> float:
    """The share of weights that moved by ``alpha``, the size of Adam's first step where g != 0."""
    moved = np.concatenate([np.abs(a - b).ravel() for a, b in zip(after, before)])
    return float(np.mean(np.isclose(moved, alpha, rtol=0.02)))


def _soft_update_mistakes(got: list[np.ndarray], q_after: list[np.ndarray], q_before: list[np.ndarray],
                          t_before: list[np.ndarray], tau: float) -> None:
    """Names the mistake when the target network's new weights are what a known mistake gives."""
    assert not _same(got, t_before, 0.0), \
        "the target network did not change: call update_target_network(q_network, target_q_network) " \
        "after the Adam step"
    assert not _same(got, q_after, _TARGET_ATOL), \
        "the target network was copied from the Q-network: use the soft update with TAU"
    assert not _same(got, [tau * q + (1 - tau) * t for q, t in zip(q_before, t_before)], _TARGET_ATOL), \
        "the soft update ran before the Adam step: update the target network after apply_gradients"


# -------------------------------------------------------- course helpers
def test_update_target_network(target: Callable, TAU: float = 1e-3) -> None:
    """``w_target <- TAU * w + (1 - TAU) * w_target`` for every weight, kernels and biases."""
    import keras

    def model() -> Any:
        return keras.Sequential([keras.layers.Input(shape=(3,)), keras.layers.Dense(2), keras.layers.Dense(1)])

    q, q_target = model(), model()
    rng = np.random.default_rng(0)
    w = [rng.normal(size=np.shape(v)).astype(np.float64) for v in q.weights]
    t = [rng.normal(size=np.shape(v)).astype(np.float64) for v in q_target.weights]
    q.set_weights(w)
    q_target.set_weights(t)
    target(q, q_target)
    for i, (got, wi) in enumerate(zip(_dense_weights(q), w)):
        assert np.allclose(got, wi, atol=1e-7), \
            f"update_target_network must not change the Q-network (its weight {i} changed): " \
            "assign the new values to the target network's weights"
    got = _dense_weights(q_target)
    assert not _same(got, t, 0.0), "the target network did not change: assign the new values to its weights"
    assert not _same(got, [(1 - TAU) * wi + TAU * ti for wi, ti in zip(w, t)], 1e-6), \
        "TAU and (1 - TAU) are swapped: w_target <- TAU * w + (1 - TAU) * w_target"
    for i, (g, wi, ti) in enumerate(zip(got, w, t)):
        assert np.allclose(g, TAU * wi + (1 - TAU) * ti, atol=1e-6), \
            f"target weight {i}: not TAU * w + (1 - TAU) * w_target"
    _passed()


def test_get_action(target: Callable) -> None:
    """epsilon 0: always ``argmax Q``; epsilon 1: every action, uniformly; epsilon 0.5: argmax
    with probability 0.5 + 0.5 / 4. ``q_values`` is a ``tf.Tensor`` of shape ``(1, 4)``, the
    Q-network's output as the course's loop passes it. The uniformity bounds are 6 standard
    deviations (false failure below 1e-8)."""
    import tensorflow as tf

    q_values = tf.constant([[0.1, -2.0, 3.5, 0.7]], dtype=tf.float32)
    try:
        action = target(q_values, 0.0)
    except Exception as error:  # noqa: BLE001 - the learner's code may raise anything
        raise AssertionError("get_action(q_values, epsilon) must accept the Q-network's output, a tf.Tensor of "
                             f"shape (1, 4): it raised {type(error).__name__}: {error}") from None
    for _ in range(200):
        action = target(q_values, 0.0)
        assert int(action) == 2, f"with epsilon 0 the action must be argmax Q = 2, got {action}"
    counts = np.zeros(4)
    n = 4000
    for _ in range(n):
        action = int(target(q_values, 1.0))
        assert 0 <= action < 4, f"action {action} is out of range: the actions are 0, 1, 2, 3"
        counts[action] += 1
    assert counts.min() > 0, f"with epsilon 1 every action must be possible; counts per action {counts}"
    # Uniform: each count ~ Binomial(4000, 0.25), sd ~ 27; allow 6 sd.
    assert np.all(np.abs(counts - n / 4) < 165), f"with epsilon 1 actions should be uniform, got {counts}"
    greedy = sum(int(target(q_values, 0.5)) == 2 for _ in range(n)) / n
    # P(greedy) = 0.5 + 0.5 / 4 = 0.625; sd 0.0077, allow 6.5 sd
    assert abs(greedy - 0.625) < 0.05, \
        f"with epsilon 0.5, argmax should be chosen 62.5% of the time (random actions include it), got {greedy}"
    _passed()


def test_get_new_eps(target: Callable, E_DECAY: float = 0.995, E_MIN: float = 0.01) -> None:
    """``max(E_MIN, E_DECAY * epsilon)``."""
    assert np.isclose(target(1.0), E_DECAY), f"get_new_eps(1.0) should be E_DECAY = {E_DECAY}, got {target(1.0)}"
    assert np.isclose(target(0.5), 0.5 * E_DECAY), f"get_new_eps(0.5) should be {0.5 * E_DECAY}"
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
    """A uniformly random mini-batch of distinct stored experiences: five float32 tensors.

    The memory holds experiences 500..1499 (a deque of 1000 that wrapped). A sampler that
    returns a fixed window (the newest or the oldest 64) fails: each of three mini-batches
    must hold experiences from both halves of the memory, and they must differ. A uniform
    sampler fails that by chance with probability below 3 * 2 * C(500, 64) / C(1000, 64)
    < 1e-18.
    """
    memory: deque = deque(maxlen=1000)
    for i in range(1500):
        state = np.full(state_size, i, dtype=np.float32)
        memory.append(Experience(state, i % 4, float(i), state + 0.5, i % 3 == 0))
    batches = [_checked_batch(target(memory), MINIBATCH_SIZE, state_size) for _ in range(3)]
    for ids in batches:
        assert ids.min() < 1000 and ids.max() >= 1000, \
            "a mini-batch must be drawn at random from the whole memory, not from a fixed window " \
            f"(experiences {ids.min()}..{ids.max()} of 500..1499): use random.sample(memory_buffer, k=MINIBATCH_SIZE)"
    assert len({tuple(sorted(ids.tolist())) for ids in batches}) == 3, \
        "three calls returned the same mini-batch: sample it at random on every call"
    _passed()


def _checked_batch(batch: Any, minibatch_size: int, state_size: int) -> np.ndarray:
    """Checks shapes, dtypes and consistency of one mini-batch; returns its experience ids."""
    assert isinstance(batch, (tuple, list)) and len(batch) == 5, \
        "get_experiences must return (states, actions, rewards, next_states, done_vals)"
    states, actions, rewards, next_states, done_vals = batch
    shapes = [(minibatch_size, state_size), (minibatch_size,), (minibatch_size,),
              (minibatch_size, state_size), (minibatch_size,)]
    for name, x, shape in zip(("states", "actions", "rewards", "next_states", "done_vals"), batch, shapes):
        assert tuple(x.shape) == shape, f"{name} should have shape {shape}, got {tuple(x.shape)}"
        assert str(x.dtype) in ("float32", "<dtype: 'float32'>"), f"{name} should be float32, got {x.dtype}"
    ids = _np(rewards).astype(int)
    assert len(set(ids.tolist())) == minibatch_size, "a mini-batch must hold distinct experiences"
    assert ids.min() >= 500, "sampled an experience that the deque already dropped"
    assert np.array_equal(_np(states)[:, 0], ids), "states do not match their rewards"
    assert np.allclose(_np(next_states), _np(states) + 0.5), "next_states do not match states"
    assert np.array_equal(_np(actions), ids % 4), "actions do not match"
    assert np.array_equal(_np(done_vals), (ids % 3 == 0).astype(np.float32)), "done_vals do not match"
    return ids
