"""Where chunks run: in this process, in local worker processes, or on a running dask cluster.

Each executor has ``window`` (chunks in flight), ``submit(job) -> future``,
``wait(futures)`` and ``close(cancel=False)``. Workers load the model
themselves (:func:`sim.engine.chunks.load_compiled`). This module never
prints and never exits.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time

from sim.engine.chunks import evaluate_chunk, load_compiled
from sim.errors import InputError, Interrupted, ModelError

def _watch_parent(ppid: int) -> None:
    """End this worker when the sweep process that started it is gone (e.g. killed with SIGKILL)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != ppid:
            os._exit(1)


def _init_worker(model_path: str, sha: str, ppid: int) -> None:
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()
    load_compiled(model_path, sha)


class InlineExecutor:
    """Evaluates chunks in this process, one at a time (``workers=1``)."""

    window = 1

    def submit(self, job):
        future: cf.Future = cf.Future()
        try:
            future.set_result(evaluate_chunk(job))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            future.set_exception(exc)
        return future

    @staticmethod
    def wait(futures):
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED)

    def close(self, cancel: bool = False):
        pass


class ProcessExecutor:
    """Local worker processes (spawned; each compiles or loads the model itself)."""

    def __init__(self, workers: int, model_path: str, sha: str):
        self.window = 2 * workers
        self.pool = cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(model_path, sha, os.getpid()))

    def submit(self, job):
        return self.pool.submit(evaluate_chunk, job)

    @staticmethod
    def wait(futures):
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED)

    def close(self, cancel: bool = False):
        if cancel:  # stop the workers now, then wait for them: no process or semaphore outlives the sweep
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=cancel)


class DaskExecutor:
    """A running ``dask.distributed`` cluster: one task per chunk; workers load the model themselves."""

    def __init__(self, address: str, sha: str):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - the extra is not installed
            raise InputError("--scheduler needs dask.distributed: pip install 'shuangta-sd[distributed]'") from exc
        self.address = address
        # distributed logs a lost scheduler as tracebacks on stderr; the sweep reports it as one error instead.
        self._levels = {name: logging.getLogger(name).level for name in _DASK_LOGGERS}
        for name in _DASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        try:
            self.client = Client(address, set_as_default=False)  # timeout: distributed.comm.timeouts.connect
        except (OSError, TimeoutError, ValueError) as exc:
            self._restore_logs()
            raise InputError(f"cannot reach the dask scheduler at {address}: {exc}") from None
        threads = sum(self.client.nthreads().values()) or 1
        self.window = max(4, 2 * threads)
        self.sha = sha

    def _restore_logs(self):
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    def submit(self, job):
        return self.client.submit(evaluate_chunk, job, pure=False, key=f"sweep-{self.sha[:10]}-chunk-{job.index:05d}")

    def wait(self, futures):
        from distributed import wait

        with self.client.as_current():
            return wait(list(futures), return_when="FIRST_COMPLETED")

    def close(self, cancel: bool = False):
        with contextlib.suppress(Exception):
            self.client.close()
        self._restore_logs()


#: Loggers of dask.distributed silenced while a sweep uses a cluster (their errors reach the sweep as exceptions).
_DASK_LOGGERS = ("distributed", "distributed.client", "distributed.batched", "distributed.comm", "distributed.core",
                 "distributed.utils", "tornado", "tornado.application")


#: Exceptions by which dask.distributed says the scheduler is gone.
LOST_SCHEDULER = {"CommClosedError", "StreamClosedError", "FutureCancelledError", "FuturesCancelledError",
                   "CancelledError"}


def is_fatal(exc: BaseException) -> bool:
    """Errors of the machinery or the set-up (stop the sweep) rather than of the runs (record them)."""
    if isinstance(exc, (InputError, ModelError, cf.BrokenExecutor, cf.CancelledError, OSError, MemoryError)):
        return True
    return type(exc).__name__ in {"KilledWorker", "CommClosedError", "FutureCancelledError", "FuturesCancelledError",
                                  "CancelledError"}


def check_options(workers: int | None, scheduler: str | None, chunk_size: int | None) -> None:
    """Refuse impossible execution options (before anything is loaded or written)."""
    if workers is not None and scheduler is not None:
        raise InputError("give either workers (local processes) or a scheduler address, not both")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise InputError(f"workers must be at least 1, not {workers}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) < 1):
        raise InputError(f"chunk size must be at least 1, not {chunk_size}")
    if scheduler is not None and "://" not in scheduler:
        raise InputError(f"scheduler address {scheduler!r} must look like tcp://HOST:8786")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While a sweep runs, SIGTERM stops it as Ctrl-C does (:class:`sim.errors.Interrupted`, exit status 143)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def handler(signum, frame):
        raise Interrupted("terminated", signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
