"""What every pool worker (validation, export) does first: die with its parent, and leave
interruptions to the parent.

A worker whose parent is killed (``kill -9``, the out-of-memory killer) would otherwise live
on holding its memory and the output folder's lock. On Linux the kernel sends it SIGKILL
when the parent ends (``prctl(PR_SET_PDEATHSIG)``); elsewhere a thread checks every half
second whether the parent is still there.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1


def start_worker(parent: int) -> None:
    """The initializer of a pool worker forked by the process ``parent``."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent reports it
    die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    if not (sys.platform.startswith("linux") and _kernel_kills_orphans()):
        threading.Thread(target=_watch, args=(parent,), name="tpkit-parent-watch", daemon=True).start()
    if os.getppid() != parent:  # the parent ended before the kernel was told
        os._exit(1)


def _kernel_kills_orphans() -> bool:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
