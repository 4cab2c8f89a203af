"""How many threads sda's C ops use: one policy for the whole process.

Every C op of sda that can split its work over threads (the fused
single-example steps of :mod:`sda.ops.fused`, the matrix products of
:mod:`sda.ops.blas`, the sigmoid and softplus of :mod:`sda.ops.elementwise`)
asks the same policy (``sda/ops/c/sda_threads.h``):
one thread, or OpenMP's count (``OMP_NUM_THREADS``, by default every core
the process may use), whichever has lately done more work per second of
the program's time.  It measures in windows of at least 8 calls and 20 ms;
now and then it runs a window the other way (after one window to let the
threads wake up, or spin down), switches if that was 20 % faster, and
otherwise tries again twice as late.  A window on several threads 30 %
slower than the average of its way (another process took a core), or a
window 20 % slower than the other way's last trial, starts a trial at once
(a slower window on one thread only means a busier machine); a window
whose work per call changed by 10 % (another step) forgets the rates
measured on the old work.  Every 0.1 s it also looks at the machine
(``/proc/stat``, on Linux): when other processes leave no core free for a
second thread, calls go to one thread at once and no trial of several is
made until a core is free again, and several threads are never more than
the free cores.  So a training step uses both cores of a quiet machine,
and one when another process is using the other: split over two threads,
a step waits for the thread that lost its core.

The state lives here, in memory this module owns, so that every compiled
op of the process reads and updates the same one.  What a user can set:

* ``OMP_NUM_THREADS=n`` (before the process starts) caps the count;
  ``OMP_NUM_THREADS=1`` compiles the ops without threads at all;
* :func:`threadpoolctl.threadpool_limits` with ``user_api="openmp"`` caps
  it for the duration of a ``with`` block (it sets OpenMP's count);
* :func:`pinned` fixes the choice, for measurements and tests;
* the PyTensor flag ``optimizer_excluding=sda_threads`` leaves the matrix
  products to OpenBLAS's own threads.
"""

import contextlib
import ctypes

__all__ = ["policy", "pinned"]


class _Pace(ctypes.Structure):
    # field for field the C struct sda_pace of sda_threads.h
    _fields_ = [("forced", ctypes.c_int), ("threaded", ctypes.c_int),
                ("way", ctypes.c_int), ("trial", ctypes.c_int),
                ("settle", ctypes.c_int), ("ready", ctypes.c_int),
                ("rate", ctypes.c_double * 2), ("mix", ctypes.c_double),
                ("win_start", ctypes.c_double), ("win_work", ctypes.c_double),
                ("last", ctypes.c_double),
                ("win_calls", ctypes.c_long), ("windows", ctypes.c_long),
                ("next_try", ctypes.c_long), ("interval", ctypes.c_long),
                ("trials", ctypes.c_long), ("switches", ctypes.c_long),
                ("others", ctypes.c_double), ("free_cores", ctypes.c_long),
                ("look_at", ctypes.c_double), ("look_busy", ctypes.c_double),
                ("look_own", ctypes.c_double)]


_state = _Pace()
_NAME = b"sda.ops.threads._PACE"  # the capsule keeps a pointer to it
_new_capsule = ctypes.pythonapi.PyCapsule_New
_new_capsule.restype = ctypes.py_object
_new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
#: What the C ops find (``PyCapsule_GetPointer``): the state's address.
_PACE = _new_capsule(ctypes.addressof(_state), _NAME, None)

_WAYS = {None: 0, "one": 1, "all": 2}


def policy():
    """The policy's state now, as a dict.

    ``threaded`` (bool): whether calls use several threads, except in a
    trial of the other way (``trying``: a window or two); ``pinned``:
    ``"one"``, ``"all"`` or None (see :func:`pinned`); ``rate``: the last
    measured work per second of the program's time with one thread and with
    several (multiply-adds; 0 when not measured yet); ``windows``,
    ``trials``, ``switches``: how many windows were measured, how many of
    them tried the other way, how many times the way changed; ``others``:
    the cores other processes used at the last look at the machine,
    ``free``: the cores that left (None: not looked at yet, or not on
    Linux).
    """
    s = _state
    # the choice, not the way of the window now: sampled during a trial,
    # ``way`` is the way being tried
    return {"threaded": bool(s.threaded) if s.ready else True,
            "trying": bool(s.trial),
            "pinned": {0: None, 1: "one", 2: "all"}[s.forced],
            "rate": {"one": s.rate[0], "several": s.rate[1]},
            "windows": s.windows, "trials": s.trials,
            "switches": s.switches,
            "others": s.others if s.ready and s.others >= 0 else None,
            "free": s.free_cores or None}


@contextlib.contextmanager
def pinned(way):
    """A context in which every C op of sda runs on ``way`` threads:
    ``"one"``, ``"all"`` (OpenMP's count) or None (the policy's choice).

    For measurements and tests: the results of the ops do not depend on the
    number of threads, only their speed does.
    """
    if way not in _WAYS:
        raise ValueError(f"way must be 'one', 'all' or None, got {way!r}")
    before = _state.forced
    _state.forced = _WAYS[way]
    try:
        yield
    finally:
        _state.forced = before
