"""Reading and writing files safely: regular files only, bounded sizes, atomic writes.

Everything sda reads from disk (IDX and pickle data, ``.npz`` model files and
checkpoints) comes through here, so that a hostile or careless file costs
at most a bounded amount of memory and time before it is refused with a
:class:`~sda.errors.DataFileError` naming it:

* only regular files are opened (a FIFO, a device such as ``/dev/zero`` or
  a socket is refused without blocking, also behind a symbolic link);
* compressed data is inflated as a stream and never beyond :data:`MAX_BYTES`
  (or the size a header declares);
* an ``.npz`` archive is checked from its zip directory and the ``.npy``
  headers of its members (names, shapes, dtypes, declared sizes) before any
  array is inflated, and read without pickle.

Writes go to a temporary file that is fsynced and renamed over the target,
so a crash or a full disk leaves the previous file intact; a failed write
raises :class:`~sda.errors.OutputError` naming the file.
"""

import glob
import gzip
import json
import os
import socket
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFileError, OutputError

__all__ = ["MAX_BYTES", "as_path", "open_regular", "open_data",
           "read_exactly", "read_bounded", "atomic_write", "NpzArchive",
           "remove_stale_temporaries", "check_writable"]

#: The most bytes sda inflates from one data, model or checkpoint file
#: (4 GiB; set it to read larger files); a file that would need more is
#: refused before it is read.  The MNIST training images are 47 MB, the
#: tutorial's pickle 220 MB, its model 30 MB.
MAX_BYTES = 4 * 1024 ** 3

_CHUNK = 1 << 20
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def as_path(name, value):
    """``value`` as a Path, if it is a non-empty str or os.PathLike."""
    if isinstance(value, (str, os.PathLike)) and str(value) != "":
        return Path(value)
    raise ValueError(f"{name} must be a file path (str or pathlib.Path), "
                     f"got {value!r}")


def open_regular(path):
    """Open ``path`` for binary reading if it is a regular file.

    Opening with ``O_NONBLOCK`` and checking the opened descriptor makes a
    FIFO fail at once instead of waiting for a writer, and catches a file
    swapped for something else between a check and the open.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise DataFileError(path, "no such file") from None
    except OSError as e:  # a socket cannot be opened at all, for one
        try:
            _refuse_special(path, os.stat(path).st_mode)
        except OSError:
            pass
        raise DataFileError(path, f"cannot be read ({e.strerror})") from None
    try:
        _refuse_special(path, os.fstat(fd).st_mode)
    except DataFileError:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _refuse_special(path, mode):
    if not stat.S_ISREG(mode):
        kind = next((k for test, k in _KINDS if test(mode)), "not a file")
        raise DataFileError(path, f"is {kind}, not a regular file: refused")


class _Inflating:
    """A gzip stream whose errors become DataFileError naming the file."""

    def __init__(self, path, raw):
        self.path, self.stream = path, gzip.GzipFile(fileobj=raw)

    def readinto(self, buffer):
        try:
            return self.stream.readinto(buffer)
        except EOFError:
            raise DataFileError(self.path, "gzip stream is truncated") \
                from None
        except (OSError, zlib.error) as e:
            raise DataFileError(self.path, f"is not a valid gzip file "
                                f"({e})") from None


class open_data:
    """``with open_data(path) as stream``: the content of a regular file,
    inflated on the fly if it is gzipped; ``stream.readinto`` only."""

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self):
        self.raw = open_regular(self.path)
        gzipped = self.raw.read(2) == b"\x1f\x8b"
        self.raw.seek(0)
        return _Inflating(self.path, self.raw) if gzipped else self.raw

    def __exit__(self, *exc):
        self.raw.close()


def read_exactly(stream, n, path, hasher=None):
    """``n`` bytes from ``stream`` as a uint8 array, or fewer if it ends."""
    out = np.empty(n, dtype=np.uint8)
    view, got = memoryview(out), 0
    while got < n:
        k = stream.readinto(view[got:got + _CHUNK])
        if not k:
            break
        if hasher is not None:
            hasher.update(view[got:got + k])
        got += k
    return out[:got]


def read_bounded(path, limit=None):
    """The whole (inflated) content of ``path``, refused past ``limit`` bytes."""
    limit = MAX_BYTES if limit is None else limit
    with open_data(path) as stream:
        parts, total = [], 0
        while True:
            chunk = read_exactly(stream, _CHUNK, path)
            if not len(chunk):
                break
            total += len(chunk)
            if total > limit:
                raise DataFileError(path, f"inflates to more than {limit} "
                                    f"bytes (sda.files.MAX_BYTES): refused")
            parts.append(chunk)
    return b"".join(p.tobytes() for p in parts)


# -- .npz archives ---------------------------------------------------------------

class NpzArchive:
    """An ``.npz`` file, checked before anything in it is inflated.

    On opening, the zip directory and the ``.npy`` header of every member
    are read: ``members`` maps each name to ``(shape, dtype)``.  Members
    holding Python objects (pickles) are refused, and so is an archive whose
    members declare more than ``limit`` bytes in all.  :meth:`record` reads
    a JSON record, :meth:`array` one array, without pickle.

    Use as a context manager.
    """

    def __init__(self, path, limit=None):
        self.path = Path(path)
        self.limit = MAX_BYTES if limit is None else limit
        self._raw = open_regular(self.path)
        try:
            self._open()
        except BaseException:
            self._raw.close()
            raise

    def _open(self):
        head = self._raw.read(6)
        self._raw.seek(0)
        if head.startswith(b"\x93NUMPY"):
            self._header(self._raw, "the array")  # refuses pickled objects
            raise DataFileError(self.path, "is a single .npy array, not an "
                                "sda .npz file")
        if head[:1] == b"\x80":
            raise DataFileError(self.path, "holds pickled objects; it is "
                                "refused, not loaded (it is a pickle; sda "
                                "files are plain .npz)")
        if not head.startswith(b"PK\x03\x04"):
            raise DataFileError(self.path, "is not an .npz file (it does not "
                                "start as a zip archive)")
        try:
            self._zip = zipfile.ZipFile(self._raw)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise DataFileError(self.path, f"is truncated or corrupt "
                                f"({type(e).__name__}: {e})") from None
        declared = sum(i.file_size for i in infos)
        if declared > self.limit:
            raise DataFileError(self.path, f"declares {declared} bytes of "
                                f"arrays, more than {self.limit} "
                                f"(sda.files.MAX_BYTES): refused")
        self.members = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise DataFileError(self.path, f"holds {info.filename!r}, "
                                    f"which is not an array")
            try:
                with self._zip.open(info) as f:
                    self.members[info.filename[:-4]] = self._header(
                        f, info.filename)
            except DataFileError:
                raise
            except Exception as e:  # a damaged local header, zlib, ...
                raise DataFileError(self.path, f"is truncated or corrupt "
                                    f"({type(e).__name__}: {e})") from None

    def _header(self, f, name):
        """(shape, dtype) from the ``.npy`` header at the start of ``f``."""
        try:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0,
                           }.get(version)
            if read_header is None:
                raise ValueError(f".npy format {version} is not read")
            shape, fortran, dtype = read_header(f)
        except Exception as e:  # bad magic, a header that is not a dict, ...
            raise DataFileError(self.path, f"is truncated or corrupt "
                                f"({name}: {e})") from None
        if dtype.hasobject:
            raise DataFileError(self.path, f"holds pickled objects "
                                f"({name}); it is refused, not loaded (sda "
                                f"files are plain .npz)")
        return tuple(shape), dtype

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._zip.close()
        self._raw.close()

    def array(self, name):
        """Member ``name`` as an array (never unpickled)."""
        try:
            with self._zip.open(name + ".npy") as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except Exception as e:  # zlib, CRC, a short member
            raise DataFileError(self.path, f"is truncated or corrupt "
                                f"({name}: {type(e).__name__}: {e})") \
                from None

    def record(self, name, fmt, what, limit=1 << 20):
        """The JSON record in member ``name``, whose ``format`` must be
        ``fmt`` (or one of a tuple of them); ``what`` names the kind of file
        in the error."""
        accepted = fmt if isinstance(fmt, tuple) else (fmt,)
        fmt = "' or '".join(accepted)
        shape, dtype = self.members.get(name, (None, None))
        if (shape != () or dtype is None or dtype.kind != "U"
                or dtype.itemsize > limit):
            raise DataFileError(self.path, f"is not {what} (no '{fmt}' "
                                f"record)")
        try:
            record = json.loads(str(self.array(name)))
        except ValueError:
            record = None
        if not isinstance(record, dict) or record.get("format") not in accepted:
            raise DataFileError(self.path, f"is not {what} (no '{fmt}' "
                                f"record)")
        return record


def expected_shape(path, name, shape, members, dtype):
    """Check that member ``name`` is declared with ``shape`` and ``dtype``."""
    if name not in members:
        raise DataFileError(path, f"lacks the array {name}")
    got_shape, got_dtype = members[name]
    if got_shape != tuple(shape) or got_dtype != np.dtype(dtype):
        raise DataFileError(path, f"holds {name} with shape {got_shape} and "
                            f"dtype {got_dtype}, the model needs "
                            f"{tuple(shape)} {np.dtype(dtype)}")


def finite_arrays(path, arrays):
    """Check that no float array holds NaN or infinity."""
    for name, value in arrays.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise DataFileError(path, f"holds NaN or infinite values in "
                                f"{name}: refused")


# -- writing ---------------------------------------------------------------------

def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file, then move it to ``path``.

    The temporary file is fsynced and renamed over ``path``, so readers see
    the old file or the new one, never half of one.  An OS error (a full
    disk, a folder that cannot be written) raises :class:`OutputError`
    naming ``path``; the temporary file is removed and the old file kept.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _reap_temporaries(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent,
                                   prefix=f".{path.name}.{_HOST}~"
                                          f"{os.getpid()}.",
                                   suffix=".tmp")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is for secrets
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if isinstance(e, OSError):
            raise OutputError(path, f"cannot be written "
                              f"({e.strerror or e}); any previous version is "
                              f"kept") from None
        raise
    return path


# whose temporary file it is: a kill leaves one, and the next write of the
# same file removes it if its writer is gone (a process of this host that
# no longer exists; another host's writers are left alone)
_HOST = "".join(c if c.isalnum() else "-" for c in socket.gethostname())


def _reap_temporaries(path):
    """Delete the temporary files of earlier writes of ``path`` whose
    process was killed before it could (``atomic_write`` removes its own
    on any exception)."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.{_HOST}~*.tmp"):
        pid = tmp.name[len(path.name) + len(_HOST) + 3:].partition(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(
                int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(folder):
    """Delete the temporary files of writes that a kill interrupted.

    Only call this while holding the folder's run lock: another run's
    write in progress would look the same.
    """
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink()
            removed.append(tmp)
    return removed


def check_writable(folder):
    """Create ``folder`` if needed and check that files can be written there."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".sda-probe.",
                                     suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(folder, f"is not a folder sda can write to "
                          f"({e.strerror or e})") from None
    return folder
