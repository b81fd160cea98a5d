"""The grader's channel to a kernel carries plain data only, and its copies of networks are faithful."""

import os
from collections import deque, namedtuple

import numpy as np
import pytest

from grading import mirror, wire


def test_wire_round_trips_the_values_the_graded_tests_pass():
    Experience = namedtuple("Experience", ["state", "action", "reward", "next_state", "done"])
    memory = deque([Experience(np.arange(8, dtype=np.float32), 1, 0.5, np.ones(8), False)], maxlen=10)
    value = [1, 2.5, "x", None, True, (np.float32(3.0), np.arange(6).reshape(2, 3)), {"k": memory}, 2**70]
    back = wire.decode(wire.encode(value))
    assert back[:5] == [1, 2.5, "x", None, True] and back[7] == 2**70
    assert back[5][0] == np.float32(3.0) and back[5][0].dtype == np.float32
    np.testing.assert_array_equal(back[5][1], np.arange(6).reshape(2, 3))
    stored = back[6]["k"]
    assert stored.maxlen == 10 and stored[0]._fields == Experience._fields and stored[0].action == 1


def test_wire_sends_unknown_objects_as_their_type_name_only():
    class Secret:
        def __reduce__(self):
            raise AssertionError("never pickled")

    tagged = wire.encode(Secret())
    assert tagged["$"] == "object" and tagged["type"] == "Secret" and "data" not in tagged
    assert type(mirror.stand_in(tagged)).__name__ == "Secret"


@pytest.mark.parametrize("tagged", [
    {"$": "array", "dtype": "|O", "shape": [1], "data": ""},
    {"$": "array", "dtype": "<f4", "shape": [3], "data": "AAAA"},
    {"$": "pickle", "data": "gASVAAAAAAAAAAA="},
    ["an", "untagged", "list"],
])
def test_wire_refuses_what_is_not_plain_data(tagged):
    with pytest.raises(wire.ProtocolError):
        wire.decode(tagged)


def test_wire_refuses_a_frame_that_claims_too_much():
    read, write = os.pipe()
    os.write(write, (wire.MAX_MESSAGE + 1).to_bytes(4, "big"))
    with pytest.raises(wire.ProtocolError):
        wire.receive(read)
    os.close(read)
    os.close(write)


def test_mirror_builds_the_same_network_from_its_description():
    import keras

    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(4, activation="linear")])
    copy = mirror.build_model(wire.decode(wire.encode(mirror.describe_model(model)), lambda t: t))
    assert copy.input_shape == (None, 8) and [layer.units for layer in copy.layers] == [64, 4]
    assert [layer.activation.__name__ for layer in copy.layers] == ["relu", "linear"]
    states = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    np.testing.assert_allclose(copy(states), model(states), rtol=1e-6)


def test_mirror_names_what_is_not_a_course_network():
    import keras

    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(16), keras.layers.Dropout(0.5),
                              keras.layers.Dense(4)])
    copy = mirror.build_model(mirror.describe_model(model))
    assert [type(layer).__name__ for layer in copy.layers] == ["Dense", "Dropout", "Dense"]
    functional = mirror.build_model({**mirror.describe_model(model), "type": "Functional"})
    assert type(functional).__name__ == "Functional" and not mirror.is_model(functional)
