"""Data-only wire format between the grader and the sandboxed worker.

Everything the worker sends back crosses the process boundary as JSON text,
never as pickles or objects (the inputs of calls, which only go the other way,
are pickles: :func:`args_bytes`). Plain JSON carries ``null``, booleans, integers, finite floats, strings and
lists. Everything else is a one-key tagged object:

    {"t": [...]}                  tuple
    {"o": {key: value, ...}}      dict with str keys
    {"d": [[key, value], ...]}    dict with int (or mixed) keys
    {"a": [dtype, shape, b64]}    numpy array; dtype "f8", "i8" or "b1", little endian
    {"f": "nan" | "inf" | "-inf"} non-finite float

``to_wire`` runs in the worker on whatever the student returned and converts
what it can (numpy scalars and arrays, torch tensors). ``from_wire`` runs in
the grader on untrusted input and rebuilds fresh plain objects, rejecting
anything outside this format. This module imports only the standard library
and numpy so that the worker can load it without the grader package.

What a value may cost the grader is bounded by a :class:`Budget` of elements
and bytes, checked while decoding: the wire text's length before it is
parsed, every JSON value as it is parsed (a structure over budget is never
materialised) and every array's shape before its data is allocated. An
element is one JSON value of the wire form (number, string, list, dict...)
or one number inside an array: what :func:`measure` counts.
"""

from __future__ import annotations

import base64
import json
import json.decoder
import json.scanner
import math
import os
import pickle
import struct
import sys
from typing import Any

import numpy as np

MAX_DEPTH = 32
MAX_ELEMENTS = 4_000_000
_DTYPES = {"f8": np.dtype("<f8"), "i8": np.dtype("<i8"), "b1": np.dtype("bool")}
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class WireError(ValueError):
    """A value that cannot be sent, or a message that is not in the wire format."""


class OverBudget(WireError):
    """A value that would cost the grader more elements or bytes than its budget allows."""


class Budget:
    """What decoding may still spend: ``elements`` (see the module docstring) and ``nbytes`` of wire text.

    Spending past either raises :class:`OverBudget` with ``too_many`` or ``too_big`` as its message.
    """

    def __init__(self, elements: int, nbytes: int, too_many: str = "", too_big: str = "") -> None:
        self.elements, self.nbytes = elements, nbytes
        self._too_many, self._too_big = too_many, too_big  # the defaults are formatted only when needed
        self.used_elements = 0
        self.used_bytes = 0

    @property
    def too_many(self) -> str:
        return self._too_many or f"the value has more than {self.elements:,} elements"

    @property
    def too_big(self) -> str:
        return self._too_big or f"the value takes more than {self.nbytes:,} bytes"

    def spend(self, elements: int, nbytes: int = 0) -> None:
        self.used_elements += elements
        self.used_bytes += nbytes
        if self.used_bytes > self.nbytes:
            raise OverBudget(self.too_big)
        if self.used_elements > self.elements:
            raise OverBudget(self.too_many)

    @property
    def elements_left(self) -> int:
        return self.elements - self.used_elements


# ---------------------------------------------------------------- encoding


_PLAIN_CODES = {np.dtype("<f8"): "f8", np.dtype("<i8"): "i8", np.dtype("bool"): "b1"}


def _array_to_wire(arr: np.ndarray) -> dict[str, Any]:
    code = _PLAIN_CODES.get(arr.dtype) if type(arr) is np.ndarray else None
    if code is not None:  # a plain array already in a wire dtype (most answers): its bytes as they are
        if arr.size > MAX_ELEMENTS:
            raise WireError(f"array with {arr.size} elements is larger than {MAX_ELEMENTS}")
        return {"a": [code, list(arr.shape), base64.b64encode(arr.tobytes()).decode("ascii")]}
    arr = np.array(arr, copy=True)  # a plain ndarray, whatever subclass came in
    kind = arr.dtype.kind
    if kind == "b":
        code = "b1"
    elif kind in "iu":
        too_big = kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max
        code = "f8" if too_big else "i8"
    elif kind == "f":
        code = "f8"
    elif kind == "c":
        raise WireError("complex values are not supported; return real numbers")
    elif kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise WireError(f"array of Python objects that are not numbers ({exc})") from None
        code = "f8"
    else:
        raise WireError(f"arrays of dtype {arr.dtype} are not supported")
    if arr.size > MAX_ELEMENTS:
        raise WireError(f"array with {arr.size} elements is larger than {MAX_ELEMENTS}")
    data = np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes()
    return {"a": [code, list(arr.shape), base64.b64encode(data).decode("ascii")]}


def _float_to_wire(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"f": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _torch_tensor(value: Any) -> np.ndarray | None:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return None


def to_wire(value: Any, _depth: int = 0) -> Any:
    """Convert a returned value into wire form; raise WireError for anything else."""
    if _depth > MAX_DEPTH:
        raise WireError(f"value nested more than {MAX_DEPTH} levels deep")
    kind = type(value)  # fast paths for exact built-in types; subclasses take the careful path below
    if kind is int or kind is str or kind is bool:
        return value
    if kind is float:
        return _float_to_wire(value)
    if kind is list:
        return [to_wire(v, _depth + 1) for v in value]
    if kind is dict and all(type(k) is str for k in value):
        return {"o": {k: to_wire(v, _depth + 1) for k, v in value.items()}}
    if kind is np.ndarray:
        return _array_to_wire(value)
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float_to_wire(float(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.ndarray):
        return _array_to_wire(value)
    if isinstance(value, (list, tuple)):
        items = [to_wire(v, _depth + 1) for v in value]
        return items if isinstance(value, list) else {"t": items}
    if isinstance(value, dict):
        pairs = []
        for k, v in value.items():
            if not isinstance(k, (str, int, np.integer)):
                raise WireError(f"dict key of type {type(k).__name__}; use str or int keys")
            key = str(k) if isinstance(k, str) else int(k)
            pairs.append([key, to_wire(v, _depth + 1)])
        return {"d": pairs}
    tensor = _torch_tensor(value)
    if tensor is not None:
        return _array_to_wire(tensor)
    if isinstance(value, (complex, np.complexfloating)):
        raise WireError("complex values are not supported; return real numbers")
    raise WireError(
        f"returned an object of type {type(value).__name__}; return numbers, numpy arrays, "
        "torch tensors, lists, tuples or dicts"
    )


# ---------------------------------------------------------------- decoding


def _reject_constant(name: str) -> float:
    raise WireError(f"bare {name} is not allowed in wire data")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise WireError(f"float literal {text[:20]} overflows")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_parse_float)


class _CountingDecoder(json.JSONDecoder):
    """The pure-Python JSON scanner with a count of values: it stops at the first one over budget
    (and at nesting deeper than any wire value), before the rest is materialised."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(parse_constant=_reject_constant, parse_float=_parse_float)
        self.budget, self.left, self.depth = budget, budget.elements_left - 1, 0  # the root is one
        self.parse_array = self._array  # type: ignore[assignment]
        self.parse_object = self._object  # type: ignore[assignment]
        self.scan_once = json.scanner.py_make_scanner(self)

    def _counted(self, scan_once: Any) -> Any:
        def scan(string: str, idx: int) -> Any:
            self.left -= 1
            if self.left < 0:
                raise OverBudget(self.budget.too_many)
            return scan_once(string, idx)
        return scan

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > 2 * MAX_DEPTH + 4:  # a wire level takes at most two JSON levels (a tag and its payload)
            raise WireError("value nested too deeply")

    def _array(self, s_and_end: Any, scan_once: Any) -> Any:
        self._nest()
        try:
            return json.decoder.JSONArray(s_and_end, self._counted(scan_once))
        finally:
            self.depth -= 1

    def _object(self, s_and_end: Any, strict: bool, scan_once: Any, *rest: Any) -> Any:
        self._nest()
        try:
            return json.decoder.JSONObject(s_and_end, strict, self._counted(scan_once), *rest)
        finally:
            self.depth -= 1


def _at_most(data: bytes | str, limit: int) -> bool:
    """Whether ``data`` holds at most ``limit`` JSON values, found without parsing it: every value but
    the root follows a ``[``, ``{``, ``,`` or ``:`` (counted inside strings too, so never too few).
    Counted 64 KiB at a time, so a text over the limit is known as such from its first chunks."""
    if len(data) <= limit:
        return True
    marks = ("[", "{", ",", ":") if isinstance(data, str) else (b"[", b"{", b",", b":")
    total = 1
    for start in range(0, len(data), 1 << 16):
        total += sum(data.count(mark, start, start + (1 << 16)) for mark in marks)  # type: ignore[arg-type]
        if total > limit:
            return False
    return True


def loads(data: bytes | str, budget: Budget | None = None) -> Any:
    """Parse JSON strictly: no NaN/Infinity literals, no overflowing floats.

    With a ``budget``, the text's length is charged before parsing, and a text that may hold more
    values than the budget's elements left is parsed by a scanner that counts them and stops at
    the first one over (the fast C parser is used only when the text cannot hold that many).
    The values themselves are charged by :func:`from_wire`.
    """
    if budget is not None:
        budget.spend(0, len(data))
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        if budget is not None and not _at_most(data, budget.elements_left):
            value, end = _CountingDecoder(budget).raw_decode(text)
        else:
            value, end = _DECODER.raw_decode(text)
        if text[end:].strip():
            raise ValueError("extra data after the JSON value")
        return value
    except WireError:
        raise
    except (ValueError, RecursionError, TypeError, UnicodeDecodeError) as exc:
        raise WireError(f"malformed message: {str(exc)[:200]}") from None


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # json.dumps with options makes one per call


def dumps(obj: Any) -> bytes:
    return _ENCODER.encode(obj).encode()


def _array_from_wire(payload: Any, budget: Budget | None = None) -> np.ndarray:
    if not (isinstance(payload, list) and len(payload) == 3):
        raise WireError("array tag must hold [dtype, shape, data]")
    code, shape, b64 = payload
    if code not in _DTYPES or not isinstance(b64, str) or not isinstance(shape, list):
        raise WireError("array tag has a bad dtype, shape or data")
    if len(shape) > MAX_DEPTH or not all(type(s) is int and s >= 0 for s in shape):
        raise WireError("array shape must be a short list of non-negative ints")
    count = math.prod(shape)
    if budget is not None:  # its other JSON values (dtype, shape, dims, data), then its numbers
        budget.spend(3 + len(shape))
        budget.spend(count)
    if count > MAX_ELEMENTS:
        raise WireError("array too large")
    dtype = _DTYPES[code]
    if len(b64) != 4 * -(-count * dtype.itemsize // 3):  # checked before anything is allocated
        raise WireError("array data does not match its shape")
    try:
        raw = base64.b64decode(b64.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise WireError("array data is not base64") from None
    if len(raw) != count * dtype.itemsize:
        raise WireError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def from_wire(obj: Any, _depth: int = 0, budget: Budget | None = None) -> Any:
    """Rebuild plain Python/numpy values from parsed wire JSON, rejecting anything else.

    With a ``budget``, every JSON value and every array number is charged as it is reached, so
    decoding stops at the first element over budget.
    """
    if _depth > MAX_DEPTH + 1:
        raise WireError("value nested too deeply")
    if budget is not None:
        budget.spend(1)
    if obj is None or type(obj) in (bool, int, str):
        return obj
    if type(obj) is float:
        if not math.isfinite(obj):
            raise WireError("non-finite float outside a tag")
        return obj
    if type(obj) is list:
        return [from_wire(v, _depth + 1, budget) for v in obj]
    if type(obj) is not dict or len(obj) != 1:
        raise WireError("objects in wire data must be single-key tags")
    (tag, payload), = obj.items()
    if budget is not None:
        budget.spend(1)  # the payload
    if tag == "t" and type(payload) is list:
        return tuple(from_wire(v, _depth + 1, budget) for v in payload)
    if tag == "o" and type(payload) is dict:
        return {str(k): from_wire(v, _depth + 1, budget) for k, v in payload.items()}
    if tag == "d" and type(payload) is list:
        out: dict[Any, Any] = {}
        for pair in payload:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) not in (str, int, bool):
                raise WireError("dict tag must hold [key, value] pairs with str or int keys")
            if budget is not None:
                budget.spend(2)  # the pair and its key
            out[pair[0]] = from_wire(pair[1], _depth + 1, budget)
        return out
    if tag == "a":
        return _array_from_wire(payload, budget)
    if tag == "f" and payload in _NONFINITE:
        return _NONFINITE[payload]
    raise WireError(f"unknown wire tag {str(tag)[:20]!r}")


def decode(raw: bytes, budget: Budget | None = None) -> Any:
    """A value from its wire text: parsed and rebuilt within ``budget`` (see :func:`loads`)."""
    return from_wire(loads(raw, budget), budget=budget)


def measure(value: Any) -> tuple[int, int]:
    """The elements and wire bytes that sending ``value`` costs: what a :class:`Budget` charges."""
    budget = Budget(2**62, 2**62)
    decode(dumps(to_wire(value)), budget)
    return budget.used_elements, budget.used_bytes


# ---------------------------------------------------------------- framing

_HEADER = struct.Struct(">I")


def frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload)) + payload


def message_frame(message: dict[str, Any], value: bytes = b"") -> bytes:
    """A frame holding a JSON message and, after a newline, an optional value already in wire JSON.

    Keeping the value apart lets the job manager pass it on without parsing it: only the grader does.
    """
    payload = dumps(message)
    return frame(payload + b"\n" + value if value else payload)


def split_message(payload: bytes, head_elements: int | None = None) -> tuple[Any, bytes]:
    """The parsed message of a frame and its raw value (compact JSON never holds a raw newline).

    ``head_elements`` bounds the JSON values of the message (not of its value) while it is parsed.
    """
    head, _, value = payload.partition(b"\n")
    return _head(head, head_elements), value


def _head(head: bytes, elements: int | None) -> Any:
    budget = None if elements is None else Budget(elements, len(head), f"a message of more than {elements:,} values")
    return loads(head, budget)


def read_exact(fd: int, size: int) -> bytes | None:
    """Exactly ``size`` bytes from a blocking file descriptor, or None at end of file."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = os.read(fd, size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def args_bytes(args: tuple[Any, ...]) -> bytes:
    """A call's inputs as the child receives them: a pickle, the one thing on the wire that is not JSON.

    Inputs only ever go from the grader to student code, which may do as it likes with its own copy, so a
    pickle is safe in this direction, and encoding it is several times faster than the tagged JSON.
    Nothing the worker sends back is ever unpickled: results, answers and messages are wire JSON."""
    return pickle.dumps(tuple(args), protocol=pickle.HIGHEST_PROTOCOL)


def job_frame(head: dict[str, Any], call_args: list[bytes]) -> bytes:
    """A job as one frame: its JSON ``head`` (which gets each call's ``arg_sizes``), then the calls'
    :func:`args_bytes` back to back as the frame's value."""
    head = {**head, "arg_sizes": [len(a) for a in call_args]}
    return message_frame(head, b"".join(call_args))


def split_args(head: dict[str, Any], value: bytes) -> list[bytes]:
    """The calls' pickled inputs of a job frame (see :func:`job_frame`)."""
    out, at = [], 0
    for size in head.get("arg_sizes", []):
        out.append(value[at:at + size])
        at += size
    return out


def read_payload(fd: int) -> bytes | None:
    """The next frame's bytes (after its length) on a blocking descriptor, or None at end of file."""
    header = read_exact(fd, header_size())
    return None if header is None else read_exact(fd, frame_length(header))


def read_message(fd: int) -> tuple[Any, bytes] | None:
    """The next message and its raw value from the grader on a blocking descriptor, or None at end of file."""
    payload = read_payload(fd)
    return None if payload is None else split_message(payload)


def read_frame(fd: int) -> Any:
    """The next message from the grader on a blocking descriptor (the worker's and the portable child's stdin),
    or None at end of file."""
    payload = read_payload(fd)
    return None if payload is None else loads(payload)


def header_size() -> int:
    return _HEADER.size


def frame_length(header: bytes) -> int:
    return _HEADER.unpack(header)[0]


class FrameTooLarge(WireError):
    """A frame announced more bytes than the reader accepts."""


def take_message(buffer: bytearray, cap: int, head_elements: int | None = None
                 ) -> tuple[dict[str, Any], bytes] | None:
    """Remove the first complete frame from ``buffer``: its message and raw value, or None if incomplete.

    Raises FrameTooLarge for a frame over ``cap`` bytes (as soon as its length is known) and
    WireError for one that is malformed, or whose message has more than ``head_elements`` values.
    The frame's bytes are copied once, into the message text and the raw value, and then dropped.
    """
    size = _HEADER.size
    if len(buffer) < size:
        return None
    length = _HEADER.unpack(bytes(buffer[:size]))[0]
    if length > cap:
        raise FrameTooLarge(f"a frame of {length} bytes, over the {cap} allowed")
    end = size + length
    if len(buffer) < end:
        return None
    newline = buffer.find(b"\n", size, end)
    with memoryview(buffer) as view:
        head = bytes(view[size:newline if newline >= 0 else end])
        value = bytes(view[newline + 1:end]) if newline >= 0 else b""
    del buffer[:end]
    message = _head(head, head_elements)
    if not isinstance(message, dict):
        raise WireError("a frame that is not a JSON object")
    return message, value


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a pipe (os.write may write only part)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
