"""Atomic output files: a reader never sees a half-written result.

Every writer goes to a temporary file in the destination directory and is moved into
place with :func:`os.replace` only once it is complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: --help and --version need none
    pass

import contextlib
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InputError


def _plain_mode(dest: Path) -> int:
    """The permissions a plain ``open(dest, "w")`` would leave: an existing file keeps
    its mode, a new one gets 0o666 minus the umask."""
    try:
        return stat.S_IMODE(dest.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def check_output(path: str | os.PathLike[str], need: float = 0.0) -> Path:
    """Refuse, before any work, an output that cannot be written: its directory must
    exist and be writable, the path must not be a directory, and ``need`` bytes must
    fit on the disk. Returns the path."""
    dest = Path(path)
    parent = dest.parent if str(dest.parent) else Path(".")
    if dest.is_dir():
        raise InputError(f"{dest}: is a directory; give a file name")
    if not parent.is_dir():
        raise InputError(f"{dest}: output directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{dest}: cannot write into {parent} (permission denied or read-only)")
    if dest.exists() and not os.access(dest, os.W_OK):
        raise InputError(f"{dest}: the file exists and is not writable")
    if need > 0:
        from .resources import check_disk

        check_disk(dest, need, "the output")
    return dest


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path``, with the
    permissions a plain write would give (the temporary file is removed on any failure,
    interruption or termination).

    ``suffix`` defaults to the destination's suffix, so libraries that infer the
    format from the name (matplotlib, numpy) write the right thing.
    """
    dest = check_output(path)
    parent = dest.parent if str(dest.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{dest.name}.", suffix=suffix if suffix is not None else dest.suffix,
            dir=parent,
        )
    except OSError as exc:
        raise InputError(f"{dest}: cannot create a file in {parent} ({exc.strerror})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _plain_mode(dest))
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays (and nested containers) into JSON types."""
    import numpy as np
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, complex):
        return {"re": obj.real, "im": obj.imag}
    return obj


def dumps_json(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n"


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    write_text(path, dumps_json(obj))


def save_npz(path: str | os.PathLike[str], **arrays: Any) -> None:
    """Write an uncompressed ``.npz`` atomically and byte-reproducibly.

    ``numpy.savez`` stamps zip entries with the current time; we write the archive
    ourselves with a fixed timestamp so the same data gives the same bytes.
    """
    import zipfile

    import numpy as np

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, value in arrays.items():
            arr = np.asanyarray(value)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, allow_pickle=False)
            zf.writestr(info, member.getvalue())
    write_bytes(path, buf.getvalue())


def save_npy(path: str | os.PathLike[str], array: Any) -> None:
    import numpy as np
    member = io.BytesIO()
    np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    write_bytes(path, member.getvalue())
