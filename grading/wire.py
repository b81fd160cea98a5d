"""What travels between the grader and a submission's kernel: framed JSON of plain data.

Both sides use this module. A message is 4 bytes of length (big-endian) and UTF-8 JSON;
a value is encoded as JSON with tagged objects (``{"$": "array", ...}``) for tuples,
arrays, tensors, Keras models and the like. Nothing is pickled: decoding builds only
numbers, strings, containers, numpy arrays and, for the grader, stand-ins named after
the submission's types (:mod:`grading.mirror`). A Keras model travels as its layers'
classes, units and activations and its weights, never as code or a Keras config.
"""

from __future__ import annotations

import base64
import json
import os
from collections import deque
from typing import Any, Callable

import numpy as np

MAX_MESSAGE = 256 * 2**20
MAX_DEPTH = 40
DTYPE_KINDS = "biuf"  # bool, integers and floats: no object or string arrays


class ProtocolError(Exception):
    """A message that is not what the protocol allows: the kernel is not trusted further."""


def send(fd: int, message: dict) -> None:
    data = json.dumps(message, allow_nan=True).encode("utf-8")
    frame = len(data).to_bytes(4, "big") + data
    while frame:
        frame = frame[os.write(fd, frame):]


def receive(fd: int, wait: Callable[[], None] | None = None) -> dict:
    """One message from ``fd``; ``wait()`` is called before each read (the grader's timeout)."""
    size = int.from_bytes(_read(fd, 4, wait), "big")
    if size > MAX_MESSAGE:
        raise ProtocolError(f"a message of {size} bytes")
    try:
        message = json.loads(_read(fd, size, wait).decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"an unreadable message: {type(error).__name__}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message that is not an object")
    return message


def _read(fd: int, size: int, wait: Callable[[], None] | None) -> bytes:
    chunks, left = [], size
    while left:
        if wait is not None:
            wait()
        chunk = os.read(fd, min(left, 2**20))
        if not chunk:
            raise EOFError("the kernel closed its channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def encode_array(array: np.ndarray, tag: str = "array") -> dict:
    array = np.ascontiguousarray(array)
    if array.dtype.kind not in DTYPE_KINDS:
        raise TypeError(f"an array of {array.dtype}")
    return {"$": tag, "dtype": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_array(value: dict) -> np.ndarray:
    dtype = np.dtype(str(value["dtype"]))
    if dtype.kind not in DTYPE_KINDS:
        raise ProtocolError(f"an array of {dtype}")
    shape = tuple(int(n) for n in value["shape"])
    data = base64.b64decode(str(value["data"]), validate=True)
    if len(data) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ProtocolError("an array whose data does not fit its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def type_of(value: Any) -> dict:
    kind = value if isinstance(value, type) else type(value)
    return {"type": str(getattr(kind, "__name__", "object"))[:100],
            "module": str(getattr(kind, "__module__", ""))[:100]}


def encode(value: Any, special: Callable[[Any], dict | None] = lambda v: None, depth: int = 0) -> Any:
    """``value`` as JSON data; ``special(value)`` may encode a value first (models, callbacks)."""
    if depth > MAX_DEPTH:
        raise TypeError("a value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return {"$": "int", "value": str(value)} if isinstance(value, int) and abs(value) > 2**53 else value
    tagged = special(value)
    if tagged is not None:
        return tagged
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, np.generic) and value.dtype.kind in DTYPE_KINDS:
        return encode_array(np.asarray(value), "scalar")
    if _is_eager_tensor(value):
        return {**encode_array(value.numpy(), "tensor"), "tf_dtype": value.dtype.name}
    def items(seq: Any) -> list:
        return [encode(item, special, depth + 1) for item in seq]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"$": "namedtuple", "name": type(value).__name__, "fields": list(value._fields), "items": items(value)}
    if isinstance(value, (list, tuple)):
        return {"$": type(value).__name__, "items": items(value)}
    if isinstance(value, deque):
        return {"$": "deque", "maxlen": value.maxlen, "items": items(value)}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$": "dict", "items": {k: encode(v, special, depth + 1) for k, v in value.items()}}
    if isinstance(value, type):
        return {"$": "class", **type_of(value)}
    return {"$": "object", **type_of(value), "repr": _short_repr(value)}


def _is_eager_tensor(value: Any) -> bool:
    return type(value).__name__ == "EagerTensor" and hasattr(value, "numpy")


def _short_repr(value: Any) -> str:
    try:
        return repr(value)[:200]
    except Exception:  # noqa: BLE001 - a submission's __repr__ may raise anything
        return "<unprintable>"


def decode(value: Any, special: Callable[[dict], Any] | None = None, depth: int = 0) -> Any:
    """The inverse of :func:`encode`; ``special(tagged)`` decodes the tags it knows."""
    if depth > MAX_DEPTH:
        raise ProtocolError("a value nested too deeply")
    if not isinstance(value, (dict, list)):
        return value
    if not isinstance(value, dict) or not isinstance(value.get("$"), str):
        raise ProtocolError("an untagged container")
    tag = value["$"]
    def items() -> list:
        raw = value.get("items")
        if not isinstance(raw, list):
            raise ProtocolError(f"a {tag} without items")
        return [decode(item, special, depth + 1) for item in raw]
    if tag == "int":
        return int(str(value["value"])[:400])
    if tag == "array":
        return decode_array(value)
    if tag == "scalar":
        return decode_array(value)[()]
    if tag == "tensor":
        import tensorflow as tf
        return tf.constant(decode_array(value))
    if tag == "list":
        return items()
    if tag == "tuple":
        return tuple(items())
    if tag == "namedtuple":
        from collections import namedtuple
        fields = [str(f) for f in value["fields"]]
        return namedtuple(_identifier(value["name"]), [_identifier(f) for f in fields], rename=True)(*items())
    if tag == "deque":
        maxlen = value.get("maxlen")
        return deque(items(), maxlen=int(maxlen) if maxlen is not None else None)
    if tag == "dict" and isinstance(value.get("items"), dict):
        return {str(k): decode(v, special, depth + 1) for k, v in value["items"].items()}
    if special is not None:
        return special(value)
    raise ProtocolError(f"an unknown tag {tag!r}")


def _identifier(name: Any) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name))[:60]
    return text if text and not text[0].isdigit() else "_" + text


def error_data(error: BaseException) -> dict:
    limit = ("memory" if isinstance(error, MemoryError) else
             "file_size" if isinstance(error, OSError) and error.errno == 27 else
             "processes" if isinstance(error, BlockingIOError) and error.errno == 11 else None)
    try:
        text = str(error)
    except Exception:  # noqa: BLE001
        text = ""
    return {"type": type(error).__name__[:100], "message": text[:2000], **({"limit": limit} if limit else {})}


def rebuilt_error(data: dict) -> BaseException:
    """The exception ``data`` describes: a built-in class by its name, else one named after it."""
    import builtins

    name, message = str(data.get("type", "Exception")), str(data.get("message", ""))
    kind = getattr(builtins, name, None) if name.isidentifier() else None
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = type(name if name.isidentifier() else "Error", (Exception,), {})
    return kind(message)
