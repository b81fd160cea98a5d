"""A CartPole network with a known greedy policy, and the greedy mean return written out by hand."""

import gymnasium as gym
import numpy as np


def lean_following_weights(network) -> list[np.ndarray]:
    """Weights for the two-hidden-layer Q-network under which argmax_a Q(s, a) pushes the cart
    toward the pole's lean (action 1 when the angle s[2] > 0): a policy that lasts tens of steps,
    a different number for each start."""
    w1, b1, w2, b2, w3, b3 = (np.zeros_like(w) for w in network.get_weights())
    w1[2, 0], w1[2, 1], w2[0, 0], w2[1, 1], w3[1, 0], w3[0, 1] = 1, -1, 1, 1, 1, 1
    return [w1, b1, w2, b2, w3, b3]


def greedy_mean_return(network, seeds) -> float:
    """mean over the seeds of sum_t r_t, playing a_t = argmax_a Q(s_t, a) from reset(seed)."""
    env, returns = gym.make("CartPole-v1"), []
    for seed in seeds:
        state, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            q_values = network(state[None].astype(np.float32)).numpy()[0]
            state, reward, terminated, truncated, _ = env.step(int(np.argmax(q_values)))
            total, done = total + reward, terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))
