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


# ---------------------------------------------------------------- budgets (bounded cost in the grader)


def peak_bytes(fn) -> int:
    """Peak Python allocation while ``fn`` runs (a WireError it raises is expected and swallowed)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    except wire.WireError:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_measure_is_exactly_what_a_budget_charges() -> None:
    for value in ([1, 2, [3]], {"a": (1, 2.5, None)}, {1: "x", "y": [np.arange(6).reshape(2, 3)]},
                  np.array(2.0), math.nan, (np.zeros(0),), "a,b:c[d{" * 50):
        elements, size = wire.measure(value)
        raw = wire.dumps(wire.to_wire(value))
        assert size == len(raw)
        wire.decode(raw, wire.Budget(elements, size))  # the exact budget is enough ...
        with pytest.raises(wire.OverBudget):
            wire.decode(raw, wire.Budget(elements - 1, size))  # ... and one element less is not
        with pytest.raises(wire.OverBudget):
            wire.decode(raw, wire.Budget(elements, size - 1))


def test_budget_stops_parsing_at_the_first_value_over() -> None:
    raw = b"[" + b",".join([b"[0]"] * 300_000) + b"]"  # 1.2 MB: 600,001 values
    with pytest.raises(wire.OverBudget, match="more than 1,200"):
        wire.decode(raw, wire.Budget(1_200, 10 * len(raw), "more than 1,200"))
    # never more than the text itself: the 300,000 lists are not built (that alone is ~25 MB)
    assert peak_bytes(lambda: wire.decode(raw, wire.Budget(1_200, 10 * len(raw)))) < 2 * len(raw)
    assert peak_bytes(lambda: wire.from_wire(wire.loads(raw))) > 10 * len(raw)  # what an unbudgeted parse costs


def test_million_key_dict_is_refused_before_it_is_built() -> None:
    raw = b'{"o":{' + b",".join(b'"k%d":0' % i for i in range(200_000)) + b"}}"
    assert peak_bytes(lambda: wire.decode(raw, wire.Budget(1_200, 10 * len(raw)))) < 2 * len(raw)
    with pytest.raises(wire.OverBudget):
        wire.decode(raw, wire.Budget(1_200, 10 * len(raw)))


def test_array_shape_is_charged_before_its_data_is_allocated() -> None:
    huge = b'{"a":["f8",[100000000,100000000],""]}'
    with pytest.raises(wire.OverBudget):
        wire.decode(huge, wire.Budget(1_200, 10_000))
    # data that does not match its shape is refused before base64 decoding allocates anything
    lying = b'{"a":["f8",[1],"' + b"A" * 4_000_000 + b'"]}'
    # (the text and its one JSON string: no base64 decoding, no array)
    assert peak_bytes(lambda: wire.decode(lying, wire.Budget(1_200, 2**30))) < 2.2 * len(lying)
    with pytest.raises(wire.WireError, match="does not match its shape"):
        wire.decode(lying, wire.Budget(1_200, 2**30))


def test_wire_text_over_budget_is_refused_before_parsing() -> None:
    with pytest.raises(wire.OverBudget, match="too big"):
        wire.decode(b"[" * 1_000, wire.Budget(10**6, 999, too_big="too big"))  # not even malformed: unread


def test_deep_nesting_is_refused_while_parsing() -> None:
    raw = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(wire.WireError, match="nested too deeply"):
        wire.decode(raw, wire.Budget(1_200, 10**6))


def test_commas_inside_strings_do_not_count_as_values() -> None:
    value = {"note": "," * 5_000, "x": [1.5, 2.5]}
    raw = wire.dumps(wire.to_wire(value))
    assert wire.decode(raw, wire.Budget(50, len(raw))) == value  # the counting parser reads it exactly


def test_message_fields_are_bounded_while_parsed() -> None:
    head = wire.dumps({"type": "result", "junk": [0] * 10_000})
    buffer = bytearray(wire.frame(head + b"\n" + b"[1,2]"))
    with pytest.raises(wire.WireError, match="more than 4,096 values"):
        wire.take_message(buffer, 2**20, 4_096)
    buffer = bytearray(wire.frame(wire.dumps({"type": "result"}) + b"\n" + b"[1,2]") * 2)
    assert wire.take_message(buffer, 2**20, 4_096) == ({"type": "result"}, b"[1,2]")
    assert len(buffer) == wire.header_size() + len(wire.dumps({"type": "result"})) + 6  # the first frame is gone


def test_plain_arrays_take_a_shortcut_to_the_same_wire_form() -> None:
    """A plain array already in a wire dtype is sent as its bytes; the result is what the careful path (any
    subclass, any dtype) makes of the same data, including views that are not contiguous."""

    class Sub(np.ndarray):
        pass

    rng = np.random.default_rng(0)
    for arr in (rng.normal(size=(3, 4)), rng.normal(size=(4, 3)).T, np.arange(6).reshape(2, 3),
                np.array([True, False]), np.zeros((0, 3)), np.ones(()), rng.normal(size=9)[::2]):
        assert wire.to_wire(arr) == wire.to_wire(arr.view(Sub)), arr
