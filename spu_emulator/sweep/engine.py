"""Run a sweep's points on Dask distributed and keep every finished point on disk.

With no scheduler address (and no ``DASK_SCHEDULER_ADDRESS``), an embedded
``LocalCluster`` of ``workers`` processes with one thread each starts and stops with the
run; with an address, the same points go to that cluster. Each point is one task: the
worker writes the point's netlist into a fresh working directory, runs the ``spu``
command in its own process (:func:`spu_emulator.cli.capture.run_captured`, no
subprocess) and sends back the command's exit status, its JSON output and the files it
wrote. What travels to a worker is the point (its overrides, board, seed and command
line, a few hundred bytes) and the base netlist's text (sent once per worker when it is
large); what comes back is the JSON and the point's files.

The output directory::

    DIR/sweep.json                  what made it (sweep file digest, points, command)
    DIR/points/INDEX/result.json    one per finished point, written atomically
    DIR/points/INDEX/netlist.yaml   the point's netlist, and any files the command wrote
    DIR/results.jsonl               one line per point, by index
    DIR/summary.csv                 one row per point: overrides, seed, result fields
    DIR/plot.png                    chosen result fields against one or two swept values

Faults: a point whose command fails is recorded with its one-line error and the run
goes on; a worker that dies costs its running point, which the scheduler gives to
another worker. Resume: running the same sweep on the same DIR runs only the points
without a result (failed points run again); a DIR made by another sweep file (or
netlist) is refused.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..resources import THREADS_ENV
from .points import NETLIST_NAME, Point, argv, montecarlo_seed, netlist_text, points
from .spec import FORMAT, SweepSpec, load_sweep

#: Seconds to wait for a scheduler given by address before refusing it.
CONNECT_TIMEOUT = 5.0
#: Base netlists longer than this are sent to each worker once, not with every point.
SCATTER_ABOVE = 64 * 1024
RESULT = "result.json"


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a sweep: DIR holds every point finished so far."""

    def __init__(self, done: int, total: int, out: str):
        super().__init__(f"{done} of {total} points done")
        self.done, self.total, self.out = done, total, out


@dataclass
class SweepReport:
    """What a sweep did: ``points`` in all, ``ran`` now, ``skipped`` (finished by an earlier
    run), ``failed`` (with an error), the files written and the wall time."""

    out: str
    points: int
    ran: int
    skipped: int
    failed: int
    results: str
    summary: str
    plot: str | None
    scheduler: str
    workers: int
    wall_time: float
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["errors"] = self.errors[:10]
        return d


# ---- on the worker -----------------------------------------------------------------------
def _worker_threads() -> int:
    """The threads this Dask worker was given (1 outside a worker): a point's command uses
    that many for its own threads (noise streams, Monte Carlo chunks), so that N
    one-thread workers on N cores do not each start threads for every core. Results do
    not depend on it."""
    try:
        from distributed import get_worker

        n = getattr(get_worker(), "nthreads", None) or 1
    except (ImportError, ValueError):
        n = 1
    return max(1, int(n))


def run_point(base_text: str, task: dict[str, Any]) -> dict[str, Any]:
    """Run one point (on a worker): its netlist, its command in this process, its files.
    Never raises for a failing command: the error is the result."""
    from ..cli.capture import run_captured

    point = Point(task["index"], tuple(tuple(x) for x in task["overrides"]), task["board"],
                  task["seed"])
    record = point.record()
    files: dict[str, bytes] = {}
    work = tempfile.mkdtemp(prefix="spu-point-")
    try:
        try:
            text = netlist_text(base_text, point, task["mc_seed"])
        except Exception as exc:  # a path or board that cannot be built: the point's error
            record.update(error=" ".join(str(exc).split())[:300], status=2)
            return {"record": record, "files": files}
        Path(work, NETLIST_NAME).write_text(text, encoding="utf-8")
        here = os.getcwd()
        threads = os.environ.get(THREADS_ENV)
        os.environ[THREADS_ENV] = str(_worker_threads())
        os.chdir(work)
        try:
            status, out, err = run_captured(task["argv"])
        finally:
            os.chdir(here)
            if threads is None:
                os.environ.pop(THREADS_ENV, None)
            else:
                os.environ[THREADS_ENV] = threads
        for root, _, names in os.walk(work):
            for n in names:
                p = Path(root, n)
                files[str(p.relative_to(work))] = p.read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    warnings = [ln for ln in lines if ln.startswith("spu: warning:")]
    if status == 0:
        try:
            record["result"] = json.loads(out)
        except ValueError:
            record.update(error="the command printed no JSON", status=1)
    else:
        problems = [ln for ln in lines if not ln.startswith("spu: warning:")]
        record.update(error=problems[-1] if problems else f"exit status {status}", status=status)
    if warnings:
        record["warnings"] = warnings
    return {"record": record, "files": files}


# ---- the output directory --------------------------------------------------------------------
def _manifest(spec: SweepSpec, n: int) -> dict[str, Any]:
    from .. import __version__

    return {"sweep": FORMAT, "file": spec.file, "netlist": spec.netlist_file,
            "digest": spec.digest, "points": n, "command": list(spec.command),
            "spu_emulator": __version__}


def prepare_out(spec: SweepSpec, out: str | os.PathLike[str], n: int,
                fields: Sequence[str] = ()) -> dict[int, dict]:
    """Check DIR (before any work): a new or empty directory, or one this same sweep
    made. Returns the finished points' records found there, by index."""
    d = Path(out)
    parent = d.parent if str(d.parent) else Path(".")
    if d.exists() and not d.is_dir():
        raise InputError(f"{d}: exists and is not a directory; give a directory for the sweep", "out")
    if not parent.is_dir():
        raise InputError(f"{d}: its parent directory {parent} does not exist", "out")
    manifest = d / "sweep.json"
    if not d.exists() or not any(d.iterdir()):
        if not os.access(parent if not d.exists() else d, os.W_OK | os.X_OK):
            raise InputError(f"{d}: cannot write there (permission denied or read-only)", "out")
        return {}
    if not manifest.is_file():
        raise InputError(f"{d}: is not empty and holds no sweep (no sweep.json); give a new "
                         "or empty directory", "out")
    try:
        old = json.loads(manifest.read_text())
    except (OSError, ValueError):
        raise InputError(f"{manifest}: cannot read it; give a new directory", "out") from None
    if old.get("digest") != spec.digest:
        raise InputError(f"{d}: was made by a different sweep file or netlist (digest "
                         f"{str(old.get('digest'))[:12]}, now {spec.digest[:12]}); give a new "
                         "directory to run the changed sweep", "out")
    done: dict[int, dict] = {}
    pdir = d / "points"
    if pdir.is_dir():
        for sub in pdir.iterdir():
            f = sub / RESULT
            if sub.name.isdigit() and f.is_file():
                with contextlib.suppress(OSError, ValueError):
                    rec = json.loads(f.read_text())
                    if "result" in rec and int(sub.name) < n:
                        done[int(sub.name)] = light(rec, fields)
    return done


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def light(record: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """What the sweep keeps in memory of a finished point: the record with its result cut
    to the top-level numbers and strings, plus the chosen ``fields`` (under "fields"). The
    whole result stays on disk (points/INDEX/result.json), so a sweep's memory does not
    grow with the size of its results."""
    if "result" not in record:
        return record
    from .summary import field_value

    res = record["result"]
    out = {k: v for k, v in record.items() if k != "result"}
    out["result"] = ({k: v for k, v in res.items() if isinstance(v, (int, float, str, bool))}
                     if isinstance(res, dict) else {})
    out["fields"] = {f: field_value(res, f) for f in fields}
    return out


def _write_point(out: Path, record: dict[str, Any], files: dict[str, bytes]) -> None:
    from ..io import write_bytes, write_json

    pdir = out / "points" / str(record["index"])
    pdir.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        dest = pdir / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(dest, data)
    write_json(pdir / RESULT, record)  # last: its presence means the point is finished


# ---- the cluster -------------------------------------------------------------------------------
def _local_environ() -> dict[str, Any]:
    """What the embedded cluster's nanny puts in a new worker's environment: Dask's
    defaults (one BLAS/OpenMP thread) without ``MALLOC_TRIM_THRESHOLD_``. Setting that
    turns off glibc's adaptive mmap threshold, so every large numpy temporary is mapped
    and unmapped again: a Monte Carlo point of the 8-cell SPU ran 1.5× slower with it."""
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    return env


def _restore_environ(before: dict[str, str | None]) -> None:
    for k, v in before.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _connect(scheduler: str | None, workers: int | None, stack: contextlib.ExitStack):
    """(client, cluster or None, description). The embedded cluster's settings stay in
    force (``stack``) while it runs, so that a worker the nanny restarts gets them too."""
    import logging

    from distributed import Client

    address = scheduler
    if address is None and workers is None:
        address = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if address is not None:
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
            raise InputError(f"cannot connect to the scheduler at {address} ({reason})",
                             "scheduler") from None
        finally:
            quiet.setLevel(level)
        return client, None, address
    import dask
    from distributed import LocalCluster

    env = _local_environ()
    stack.enter_context(dask.config.set({"distributed.nanny.pre-spawn-environ": env}))
    # the nanny writes those variables into this process's environment before it spawns;
    # put back what was there when the cluster is gone
    before = {k: os.environ.get(k) for k in env}
    stack.callback(_restore_environ, before)
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, scheduler_port=0,
                           silence_logs=logging.ERROR)
    try:
        client = Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return client, cluster, f"local ({n} workers)"


# ---- the run -----------------------------------------------------------------------------------
def sweep(
    sweep_file: str | os.PathLike[str] | SweepSpec,
    out: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    plot: Sequence[str] | None = None,
    progress: Any = None,
    max_memory: float | None = None,
) -> SweepReport:
    """Run every point of ``sweep_file`` (see :mod:`spu_emulator.sweep.spec`) and write
    DIR ``out`` (see the module docstring). ``scheduler``: a Dask scheduler address
    (``tcp://host:8786``); otherwise an embedded cluster of ``workers`` processes
    (default: one per core). ``plot``: result fields to plot (default: the file's
    ``plot.y``). ``max_memory``: bytes this process may plan to hold (default: most of
    what is available); a sweep too large for it, or for the disk, is refused before
    anything runs. Raises :class:`SweepInterrupted` on Ctrl-C with DIR resumable.

    Cost: the points' own cost over the workers, plus ~ms of engine time per point."""
    from .summary import write_plot, write_summary

    t0 = time.perf_counter()
    spec = sweep_file if isinstance(sweep_file, SweepSpec) else load_sweep(sweep_file)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise InputError(f"must be a positive number of workers, got {workers!r}", "workers")
    if scheduler is not None and workers is not None:
        raise InputError("give `workers` (an embedded cluster) or `scheduler` (a running "
                         "one), not both", "workers")
    outp = Path(out)
    fields = tuple(plot) if plot else spec.plot_y
    check_size(spec, outp, max_memory)
    pts = points(spec)
    n = len(pts)
    done = prepare_out(spec, outp, n, fields)
    stack = contextlib.ExitStack()
    try:
        client, cluster, where = _connect(scheduler, workers, stack)
    except BaseException:
        stack.close()
        raise
    records: dict[int, dict] = dict(done)
    skipped = len(done)
    ran = 0
    log = None
    nworkers = 0
    futures: list[Any] = []
    try:
        outp.mkdir(exist_ok=True)
        from ..io import write_json

        if not (outp / "sweep.json").is_file():
            write_json(outp / "sweep.json", _manifest(spec, n))
        nworkers = max(1, sum(client.nthreads().values()))
        todo = [p for p in pts if p.index not in done]
        if progress is not None:
            progress.start(n, unit="point")
            progress.update(skipped)
        log = open(outp / "results.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        if todo:
            base: Any = spec.netlist_text
            if len(base) > SCATTER_ABOVE:
                base = client.scatter(base, broadcast=True)
            mc = montecarlo_seed(spec)
            tag = spec.digest[:12]

            def submit(p: Point):
                task = {"index": p.index, "overrides": [list(o) for o in p.overrides],
                        "board": p.board, "seed": p.seed, "argv": argv(spec, p), "mc_seed": mc}
                return client.submit(run_point, base, task, key=f"spu-point-{tag}-{p.index}",
                                     pure=False)

            from distributed import as_completed

            with client.as_current():
                window = max(64, 8 * nworkers)
                queue = iter(todo)
                futures = [submit(p) for p in itertools.islice(queue, window)]
                index_of = {f.key: int(f.key.rsplit("-", 1)[1]) for f in futures}
                ac = as_completed(futures)
                for fut in ac:
                    i = index_of.pop(fut.key)
                    try:
                        res = fut.result()
                        record, files = res["record"], res["files"]
                    except Exception as exc:  # the worker running it died too often, ...
                        record = pts[i].record()
                        record.update(error=f"{type(exc).__name__}: "
                                      + " ".join(str(exc).split())[:200], status=1)
                        files = {}
                    _write_point(outp, record, files)
                    log.write(_line(record))
                    log.flush()
                    records[i] = light(record, fields)
                    ran += 1
                    fut.release()
                    if progress is not None:
                        progress.update(1)
                    nxt = next(queue, None)
                    if nxt is not None:
                        f = submit(nxt)
                        index_of[f.key] = nxt.index
                        ac.add(f)
            futures = []
    except KeyboardInterrupt:
        _finish(outp, records, log)
        log = None
        raise SweepInterrupted(sum("result" in r for r in records.values()), n, str(outp)) from None
    finally:
        if log is not None:
            log.close()
        if progress is not None:
            progress.close()
        with contextlib.suppress(Exception):
            if futures:
                client.cancel(futures)
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        stack.close()
    _finish(outp, records, None)
    summary = write_summary(outp / "summary.csv", spec, pts, records, fields)
    png = write_plot(outp / "plot.png", spec, pts, records, fields) if fields else None
    errors = [{"index": r["index"], "error": r["error"]} for _, r in sorted(records.items())
              if "error" in r]
    return SweepReport(str(outp), n, ran, skipped, len(errors), str(outp / "results.jsonl"),
                       str(summary), str(png) if png else None, where,
                       nworkers, time.perf_counter() - t0,
                       errors)


def _finish(out: Path, records: dict[int, dict], log) -> None:
    """results.jsonl rewritten by index from the finished points' files (atomically,
    streamed: one point's result in memory at a time)."""
    from ..io import atomic_path

    if log is not None:
        log.close()
    with atomic_path(out / "results.jsonl") as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for i in sorted(records):
            f = out / "points" / str(i) / RESULT
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # pragma: no cover (written by this sweep)
                rec = records[i]
            fh.write(_line(rec))


#: Memory the sweep process holds per point (its Point, its light record, the futures'
#: bookkeeping), and disk per point beyond its netlist: measured on 10^5-point sweeps
#: with some margin.
POINT_MEMORY = 2048
POINT_DISK = 4096


def check_size(spec: SweepSpec, out: Path, max_memory: float | None = None) -> None:
    """Refuse, before any work, a sweep whose points would not fit in this process's
    memory or whose files (each point's netlist and result) would not fit on the disk."""
    from ..resources import Budget, check_disk

    n = spec.size
    Budget(max_memory=max_memory).check_memory(
        n * POINT_MEMORY, f"{spec.file}: a sweep of {n:,} points",
        "split it into smaller sweeps (fewer values, draws, boards or seeds)")
    where = out if out.exists() else (out.parent if str(out.parent) else Path("."))
    if where.exists():
        check_disk(where, n * (len(spec.netlist_text) + POINT_DISK),
                   f"the sweep's {n:,} points' files")


__all__ = ["SweepInterrupted", "SweepReport", "run_point", "sweep"]
