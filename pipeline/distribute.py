"""Several MSes at once: a local process pool (`--parallel N`) or an existing dask.distributed
cluster (`--scheduler tcp://host:port`), one task per MS.

A task runs every per-MS stage of one MS (recipe.run_ms) on a copy of the Context and returns
it as JSON with its error (if any) and the log records it emitted; the caller merges each MS's
state, records and errors into the one Context and re-emits the logs under the MS's name, so a
distributed run leaves the same context.json, fluxes.json and weblog as a serial one. Workers
must see the MS paths and the output folder (a shared filesystem) and have fluxpipe installed.
A task keeps its state in its own Session (fluxpipe.session): a worker may run several tasks
in threads at once.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from asyncio import CancelledError

from .context import Context
from .errors import InputsError, PipelineError

log = logging.getLogger(__name__)


class _Capture(logging.Handler):
    """The records one task's thread emits (a worker may run several tasks in threads)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.thread = threading.get_ident()
        self.records: list[tuple[int, str]] = []

    def emit(self, record):
        if record.thread == self.thread:
            self.records.append((record.levelno, record.getMessage()))


class _Quiet:
    """While any task runs in this process, fluxpipe's records stay with their task's capture
    (the caller re-emits them at its own level) and are not printed here. Logging is
    process-wide, so this is the one shared thing, counted under a lock."""
    lock = threading.Lock()
    active = 0
    saved: tuple = ()

    def __enter__(self):
        logger = logging.getLogger("fluxpipe")     # every module logs under fluxpipe.*
        with self.lock:
            if type(self).active == 0:
                type(self).saved = (logger.level, logger.propagate)
                logger.setLevel(logging.INFO)
                logger.propagate = False
            type(self).active += 1
        return logger

    def __exit__(self, *exc):
        logger = logging.getLogger("fluxpipe")
        with self.lock:
            type(self).active -= 1
            if type(self).active == 0:
                logger.setLevel(self.saved[0])
                logger.propagate = self.saved[1]


def run_one(args) -> tuple[str, str, list[tuple[int, str]]]:
    """One MS in a worker: (context JSON, error or '', [(level, message)]). args: (runner,
    ms path, name, steps, resume, context JSON); runner is recipe.run_ms (passed, not imported)."""
    return _run_one(*args)


def _run_one(run_ms, ms_path, name, steps, resume, ctx_json):
    ctx = Context.model_validate_json(ctx_json)
    ctx.part = name
    cap = _Capture()
    with _Quiet() as logger:
        logger.addHandler(cap)
        try:
            run_ms(ms_path, name, steps, resume, ctx)
            err = ""
        except PipelineError as exc:
            err = str(exc)
        except Exception as exc:  # a bug in one MS's run must not lose the others' results
            err = f"{name}: internal error: {type(exc).__name__}: {exc}"
        finally:
            logger.removeHandler(cap)
    return ctx.model_dump_json(), err, cap.records


def _limit_threads(n: int) -> None:
    """A pool worker's numerical libraries use n threads (the cores shared out among the MSes
    run at once; BLAS's own default of every core oversubscribes them: 2 EBs on 2 cores took
    5.5 s instead of 4.6)."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=n)


def run_many(ctx: Context, tasks: list[tuple], parallel: int, scheduler: str) -> list[str]:
    """Run the tasks (run_one's arguments) on the pool or cluster; merge into ctx; the errors."""
    errors = []
    if scheduler:
        outs, errors = _on_cluster(scheduler, tasks)
    else:
        from concurrent.futures import ProcessPoolExecutor
        per = max(1, (os.cpu_count() or 1) // parallel)
        with ProcessPoolExecutor(max_workers=parallel, initializer=_limit_threads, initargs=(per,)) as pool:
            outs = list(pool.map(run_one, tasks))
    for js, err, records in outs:
        part = Context.model_validate_json(js)
        if os.path.exists(part.path):
            os.remove(part.path)
        for level, msg in records:
            log.log(level, "[%s] %s", part.part, msg)
        ctx.ms.update({k: v for k, v in part.ms.items() if k == part.part})
        ctx.results = [r for r in ctx.results if r.ms != part.part] + \
            [r for r in part.results if r.ms == part.part]
        if err:
            errors.append(err)
    return errors


def worker_timeout() -> float:
    """How long a run waits with no worker on the cluster before giving up (s):
    FLUXPIPE_WORKER_TIMEOUT, default 120."""
    return float(os.environ.get("FLUXPIPE_WORKER_TIMEOUT", "120"))


def _not_finished(why: str, pending, futures) -> str:
    return f"{why}; {', '.join(sorted(futures[f] for f in pending))} did not finish; rerun with --resume"


def _on_cluster(address: str, tasks: list[tuple]) -> tuple[list, list[str]]:
    """One task per MS on the dask.distributed scheduler at `address` (tcp://host:port): the
    finished tasks' results and, for the others, why (a lost worker, a lost scheduler)."""
    from distributed import Client
    # dask logs a lost connection as tracebacks; what happened is said once, in the run's error
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("distributed", "tornado", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    if not address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise InputsError(f"--scheduler {address}: give the scheduler's address, e.g. tcp://host:8786")
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputsError(f"--scheduler {address}: cannot connect ({type(exc).__name__}); start the "
                          f"scheduler or check the address") from None
    from distributed import wait
    outs, errors = [], []
    try:
        futures = {client.submit(run_one, t, key=f"fluxpipe-{t[2]}", pure=False): t[2] for t in tasks}
        pending, alone = set(futures), None
        while pending:
            try:
                finished, pending = wait(pending, timeout=2, return_when="FIRST_COMPLETED")
            except TimeoutError:
                finished = set()
            except (Exception, CancelledError) as exc:      # the scheduler went away: keep what finished
                errors.append(_not_finished(f"lost the scheduler {address} ({type(exc).__name__})", pending, futures))
                break
            for fut in finished:
                try:
                    outs.append((futures[fut], fut.result()))
                except (Exception, CancelledError) as exc:   # its worker died (KilledWorker), the task was lost
                    errors.append(f"{futures[fut]}: lost on the cluster ({type(exc).__name__}); rerun with --resume")
            if not pending:
                break
            try:
                workers = len(client.nthreads())
            except Exception as exc:            # the scheduler went away: keep what finished
                errors.append(_not_finished(f"lost the scheduler {address} ({type(exc).__name__})", pending, futures))
                break
            alone = None if workers else (alone or time.time())
            if alone and time.time() - alone > worker_timeout():
                errors.append(_not_finished(f"no worker left on {address} for {worker_timeout():g} s", pending, futures))
                break
    except OSError as exc:                      # the connection broke while submitting
        errors.append(f"lost the scheduler {address} ({type(exc).__name__}); rerun with --resume")
    finally:
        try:
            client.close(timeout=5)
        except Exception:                       # a closed or dead connection: nothing to close
            pass
    order = [t[2] for t in tasks]               # merged in the MSes' order, as a serial run does
    outs = [o for _, o in sorted(outs, key=lambda x: order.index(x[0]))]
    return outs, errors
