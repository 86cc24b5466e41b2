"""The EEGLAB MAT parser helper's reply: empty arrays written as ``numpy.empty`` give the struct
MNE's own parse gives (values, dtypes, shapes, strides), in fewer bytes and objects than numpy's
own pickling."""

import pickle

import numpy as np

from signalkit.io.matlab_parser import _dumps


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if (a.dtype, a.shape, a.strides, a.flags.writeable) != (b.dtype, b.shape, b.strides, b.flags.writeable):
            return False
        if a.dtype.hasobject:
            return all(_same(x, y) for x, y in zip(a.ravel(), b.ravel()))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_reply_pickle_keeps_the_struct():
    cell = np.empty(3, dtype=object)
    cell[:] = [np.zeros(0, np.uint8), np.array([1.5, np.nan]), "label"]
    struct = {
        "empty_u1": np.empty((0,), np.uint8), "empty_text": np.empty((0,), "<U1"), "empty_f8": np.empty((0,), "<f8"),
        "data": np.arange(12.0).reshape(3, 4, order="F"), "cell": cell,
        "nested": {"a": [np.empty((0,), np.uint8), 3, "x"], "b": np.array(["ab", "c"])},
        "scalar": np.float64(2.5), "n": 7,
    }
    back = pickle.loads(_dumps(struct))
    assert _same(back, struct)
    # numpy's own pickling changes the strides of an empty array; numpy.empty keeps those of MNE's parse
    assert not _same(pickle.loads(pickle.dumps(struct, protocol=4)), struct)
    # what is not a 1-D empty array of numbers or text travels as numpy pickles it
    others = {"empty_2d": np.empty((0, 3)), "record": np.zeros(0, dtype=[("x", "<f8")]),
              "objects": np.empty((0,), dtype=object)}
    assert _same(pickle.loads(_dumps(others)), pickle.loads(pickle.dumps(others, protocol=4)))
    many = {f"f{i}": np.empty((0,), np.uint8) for i in range(200)}
    assert len(_dumps(many)) < len(pickle.dumps(many, protocol=4)) / 2
    assert _same(pickle.loads(_dumps(many)), many)
