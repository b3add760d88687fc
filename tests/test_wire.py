"""The data-only wire format: what the worker may send, and what the grader refuses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from grader.sandbox.worker import wire


def roundtrip(value):
    return wire.from_wire(wire.loads(wire.dumps(wire.to_wire(value))))


def test_plain_values_roundtrip() -> None:
    value = {"a": [1, 2.5, None, True], "b": (1, (2, 3)), 7: "x"}
    assert roundtrip(value) == value
    assert isinstance(roundtrip((1, 2)), tuple) and isinstance(roundtrip([1, 2]), list)


def test_arrays_keep_shape_and_dtype_family() -> None:
    arr = np.arange(12.0).reshape(3, 4)
    back = roundtrip(arr)
    assert back.dtype == np.float64 and back.shape == (3, 4) and np.array_equal(back, arr)
    assert roundtrip(np.arange(3, dtype=np.int32)).dtype == np.int64
    assert roundtrip(np.array([True, False])).dtype == bool
    assert roundtrip(np.float32(1.5)) == 1.5 and type(roundtrip(np.float32(1.5))) is float
    assert roundtrip(np.array(2.0)).shape == ()


def test_nonfinite_floats_are_tagged_not_literals() -> None:
    text = wire.dumps(wire.to_wire([math.nan, math.inf, -math.inf]))
    assert b"NaN" not in text and b"Infinity" not in text
    back = roundtrip([math.nan, math.inf, -math.inf])
    assert math.isnan(back[0]) and back[1] == math.inf and back[2] == -math.inf


def test_torch_tensors_are_converted() -> None:
    back = roundtrip(torch.tensor([[1.0, 2.0]], requires_grad=True) * 2)
    assert isinstance(back, np.ndarray) and back.tolist() == [[2.0, 4.0]]


def test_objects_with_fake_equality_cannot_be_sent() -> None:
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(wire.WireError, match="AlwaysEqual"):
        wire.to_wire(AlwaysEqual())
    with pytest.raises(wire.WireError):
        wire.to_wire([1, {"k": AlwaysEqual()}])


def test_ndarray_subclass_is_sent_as_its_plain_data() -> None:
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return np.ones(self.shape, dtype=bool)

    fake = np.zeros(3).view(Sneaky)
    back = roundtrip(fake)
    assert type(back) is np.ndarray and back.tolist() == [0.0, 0.0, 0.0]


def test_complex_and_object_arrays_are_refused() -> None:
    with pytest.raises(wire.WireError, match="complex"):
        wire.to_wire(np.array([1 + 2j]))
    with pytest.raises(wire.WireError):
        wire.to_wire(np.array([object()], dtype=object))


@pytest.mark.parametrize("text", [
    b"NaN", b"[Infinity]", b"1e999", b'{"x": 1}', b'{"a": ["f8", [2], "AAAAAAAAAAA="]}',
    b'{"a": ["f8", [1], "!!!"]}', b'{"a": ["c16", [1], ""]}', b'{"a": ["f8", [-1], ""]}',
    b'{"d": [[1.5, 2]]}', b'{"f": "one"}', b'{"t": 1}', b"[" * 100 + b"]" * 100, b"\xff\xfe",
    b'{"a": ["f8", [100000000, 100000000], ""]}',
])
def test_malformed_data_is_refused(text: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.from_wire(wire.loads(text))


def test_huge_integers_are_refused() -> None:
    with pytest.raises(wire.WireError):
        wire.from_wire(wire.loads(b"1" + b"0" * 5000))


def test_deep_nesting_is_refused_on_both_sides() -> None:
    deep: list = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError, match="nested"):
        wire.to_wire(deep)


def test_frames_carry_their_length() -> None:
    framed = wire.frame(b"hello")
    assert wire.frame_length(framed[: wire.header_size()]) == 5 and framed.endswith(b"hello")
