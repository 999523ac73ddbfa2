"""MNIST-format readers on tiny files written here: IDX (plain and gzip, with the sibling
labels file), npz under each accepted key set, and bad files → one-line InputError."""

import gzip
import struct

import numpy as np
import pytest

from spu_emulator.errors import InputError
from spu_emulator.generative.data import load_dataset


def _idx_bytes(a: np.ndarray) -> bytes:
    head = bytes([0, 0, 0x08, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape)
    return head + a.astype(np.uint8).tobytes()


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8), rng.integers(0, 10, 12)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_images_and_sibling_labels(tmp_path, tiny, gz):
    x, y = tiny
    suf = ".gz" if gz else ""
    opener = gzip.open if gz else open
    img = tmp_path / f"train-images-idx3-ubyte{suf}"
    with opener(img, "wb") as fh:
        fh.write(_idx_bytes(x))
    with opener(tmp_path / f"train-labels-idx1-ubyte{suf}", "wb") as fh:
        fh.write(_idx_bytes(y))
    ds = load_dataset(str(img))
    assert ds.shape == (28, 28) and (ds.lo, ds.hi) == (0.0, 255.0)
    np.testing.assert_array_equal(ds.images, x.astype(float))
    np.testing.assert_array_equal(ds.labels, y)


def test_idx_without_labels(tmp_path, tiny):
    img = tmp_path / "t10k-images-idx3-ubyte"
    img.write_bytes(_idx_bytes(tiny[0]))
    ds = load_dataset(str(img))
    assert ds.labels is None and ds.images.shape == (12, 28, 28)


@pytest.mark.parametrize("keys", [("x_train", "y_train"), ("images", "labels"), ("x", "y")])
def test_npz_key_sets(tmp_path, tiny, keys):
    x, y = tiny
    p = tmp_path / "d.npz"
    np.savez(p, **{keys[0]: x, keys[1]: y})
    ds = load_dataset(str(p))
    np.testing.assert_array_equal(ds.images, x.astype(float))
    np.testing.assert_array_equal(ds.labels, y)
    assert (ds.lo, ds.hi) == (0.0, 255.0)


def test_npz_train_and_test_are_appended(tmp_path, tiny):
    x, y = tiny
    p = tmp_path / "mnist.npz"
    np.savez(p, x_train=x[:8], y_train=y[:8], x_test=x[8:], y_test=y[8:])
    ds = load_dataset(str(p))
    np.testing.assert_array_equal(ds.images, x.astype(float))
    np.testing.assert_array_equal(ds.labels, y)


def test_npz_float_flat_images_use_their_range(tmp_path, tiny):
    x = tiny[0].reshape(12, -1).astype(np.float32) / 255.0
    p = tmp_path / "f.npz"
    np.savez(p, images=x)
    ds = load_dataset(str(p))
    assert ds.shape == (28, 28) and ds.labels is None
    assert ds.lo == pytest.approx(float(x.min())) and ds.hi == pytest.approx(float(x.max()))


@pytest.mark.parametrize("content, needle", [
    (b"\x00\x00\x0c\x01" + b"\x00" * 8, "bad magic"),  # not unsigned bytes
    (bytes([0, 0, 8, 3]) + struct.pack(">III", 12, 28, 28) + b"\x00" * 10, "does not match"),
])
def test_bad_idx_is_one_line_input_error(tmp_path, content, needle):
    p = tmp_path / "bad-images-idx3-ubyte"
    p.write_bytes(content)
    with pytest.raises(InputError, match=needle) as exc:
        load_dataset(str(p))
    assert "\n" not in str(exc.value)


def test_bad_npz_keys_and_missing_file(tmp_path):
    p = tmp_path / "k.npz"
    np.savez(p, foo=np.zeros((12, 4, 4)))
    with pytest.raises(InputError, match="none of the keys"):
        load_dataset(str(p))
    with pytest.raises(InputError, match="not 'digits'"):
        load_dataset(str(tmp_path / "missing.npz"))
