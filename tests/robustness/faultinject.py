"""Kill an in-place task with SIGKILL at many points and check its files.

Run as a script (``python faultinject.py TASK[,TASK...] TEMPLATE WORKDIR NKILLS OUT.json
[--fast | --fsize BYTES]``);
``test_fault_injection.py`` does that in a subprocess.  The driver

1. imports the task and prepares its inputs once (``TaskSpec.prepare``) into
   ``WORKDIR/prepared``;
2. forks a child that runs the task in ``WORKDIR/run`` (a fresh copy of the
   prepared files) under a :func:`sys.setprofile` counter, to count the
   Python and C calls of a clean run and to note which of them do file I/O
   (``write``, ``fsync``, ``replace`` ...); a second clean run tells which
   header keywords change from run to run (dates);
3. for each kill point N (half spread over the I/O calls, half over the whole
   run; with ``--fast``, the N-th call of a wrapped os-level file function,
   no profiler) forks a child that runs the same task and sends itself ``SIGKILL`` at
   call N, then checks every file of the task:

   * ``old``: byte-identical to before the run;
   * ``new``: a complete FITS file equal to the clean run's result (volatile
     keywords aside);
   * ``intermediate``: a complete, valid FITS file that is neither (a task
     that rewrites a file in more than one atomic step);
   * ``corrupt``: anything else (truncated, unreadable, missing).

   Every other FITS file in the folder (products) must open completely;
   leftover temporary files (``.name.*.tmp``) are counted.

A ``--fsize`` run instead limits the size of written files
(``RLIMIT_FSIZE``, works as root) so that every write of a large file fails
like a full disk, and checks that the task raises its documented error and
leaves every input byte-identical.

The result is a JSON summary.  Children are forked from a driver that has
already imported everything, so each kill point costs a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import registry  # noqa: E402

IO_CALLS = frozenset({"write", "fsync", "replace", "rename", "unlink", "ftruncate",
                      "chmod", "mkstemp", "fdopen", "open", "flush", "close", "truncate"})


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Counter:
    """Profile hook counting calls; kills the process at a given call.

    ``kill_at`` is ``("call", N)`` (the N-th Python or C call) or ``("io", N)``
    (the N-th call of a file I/O function, see ``IO_CALLS``).
    """

    def __init__(self, kill_at: tuple[str, int] | None = None) -> None:
        self.n = 0
        self.nio = 0
        kind, at = kill_at if kill_at else ("", -1)
        self.kill_call = at if kind == "call" else -1
        self.kill_io = at if kind == "io" else -1

    def __call__(self, frame, event, arg):
        if event == "call" or event == "c_call":
            self.n += 1
            if self.n == self.kill_call:
                os.kill(os.getpid(), signal.SIGKILL)
            if event == "c_call" and getattr(arg, "__name__", None) in IO_CALLS:
                self.nio += 1
                if self.nio == self.kill_io:
                    os.kill(os.getpid(), signal.SIGKILL)


OS_HOOKS = ("fsync", "replace", "rename", "unlink", "remove", "chmod", "open", "close",
            "fdopen", "write", "ftruncate")


class _OsHooks:
    """Cheap kill points: wrappers counting calls of os-level file functions.

    The process is killed just before the N-th such call (``("os", N)``), so
    the points before and after every ``os.fsync`` and ``os.replace`` are all
    reachable without the cost of a profiler.
    """

    def __init__(self, kill_at: tuple[str, int] | None) -> None:
        import builtins
        import tempfile
        self.n = 0
        kind, at = kill_at if kill_at else ("", -1)
        self.kill = at if kind == "os" else -1
        targets = [(os, name) for name in OS_HOOKS]
        targets += [(tempfile, "mkstemp"), (builtins, "open")]
        for mod, name in targets:
            setattr(mod, name, self._wrap(getattr(mod, name)))

    def _wrap(self, func):
        def hooked(*args, **kwargs):
            self.n += 1
            if self.n == self.kill:
                os.kill(os.getpid(), signal.SIGKILL)
            return func(*args, **kwargs)
        return hooked


def _child(spec: registry.TaskSpec, ws: registry.Workspace, report: Path,
           kill_at: tuple[str, int] | None, fsize: int | None,
           fast: bool = False) -> None:
    """Body of a forked child (see :func:`_in_child`): run the task, write a JSON report."""
    out: dict = {}
    os.chdir(ws.root)
    if fsize is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, hard))  # soft limit only
    profile = kill_at is None or kill_at[0] in ("call", "io")
    hooks = _OsHooks(kill_at)
    counter = _Counter(kill_at)
    if profile and not (kill_at is None and fast):
        sys.setprofile(counter)
    try:
        spec.run(ws)
        out["outcome"] = "returned"
    except BaseException as exc:
        out["outcome"] = "raised"
        out["exc_type"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
        out["exc_message"] = str(exc)
        out["is_package_error"] = isinstance(exc, spec.error_base())
        out["traceback"] = traceback.format_exc(limit=-4)
    finally:
        sys.setprofile(None)
    out["calls"] = counter.n
    out["io"] = counter.nio
    out["os"] = hooks.n
    if fsize is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    report.write_text(json.dumps(out))


def _in_child(body: Callable[[], None], report: Path) -> tuple[str, dict | None]:
    """Run ``body()`` in a forked child that writes ``report``; return (how it ended, report).

    The child leaves with :func:`os._exit` (status 0, or 3 after printing the
    traceback of an exception from ``body``), never returning into the
    driver's code; a child killed by a signal is reported as ``"signal N"``.
    The report is None when the child did not write it.
    """
    report.unlink(missing_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        ended = f"signal {os.WTERMSIG(status)}"
    else:
        ended = f"exit {os.WEXITSTATUS(status)}"
    data = json.loads(report.read_text()) if report.exists() else None
    return ended, data


def _fork_run(spec, ws, report: Path, *, kill_at=None, fsize=None, fast=False):
    """Run the task in a forked child; return (how it ended, child's report or None)."""
    return _in_child(lambda: _child(spec, ws, report, kill_at, fsize, fast), report)


def _fresh(prepared: Path, run_root: Path) -> registry.Workspace:
    shutil.rmtree(run_root, ignore_errors=True)
    shutil.copytree(prepared, run_root)
    return registry.Workspace.at(run_root)


def _prepare_isolated(spec, template: Path, prepared: Path, report: Path) -> dict[str, str]:
    """Build the task's prepared inputs in a forked child; return its ``extra`` (relative paths).

    ``prepare`` may run other tasks (AstroDrizzle for a drizzled product) and
    so load the project's compiled kernels.  Done in the driver, those shared
    objects would stay mapped in it (and in every child forked from it) for the
    whole run; the kernels are rebuilt in the source tree while the suite runs
    (editable install), and a shared object rewritten in place kills every
    process that has it mapped with SIGBUS or SIGSEGV at its next garbage
    collection (the Cython module's ``m_traverse`` lives in it).  The driver
    itself therefore only imports what the task's own module imports.
    """
    shutil.rmtree(prepared, ignore_errors=True)

    def prepare() -> None:
        ws = registry.Workspace.from_template(template, prepared)
        if spec.prepare is not None:
            spec.prepare(ws)
        report.write_text(json.dumps(
            {k: str(v.relative_to(prepared)) for k, v in ws.extra.items()}))

    ended, extra = _in_child(prepare, report)
    if extra is None:
        raise RuntimeError(f"preparing the inputs of {spec.name} failed ({ended})")
    return extra


def _relinputs(spec, ws) -> list[str]:
    return sorted({str(p.relative_to(ws.root)) for p in spec.inputs(ws)})


def _with_extra(ws: registry.Workspace, extra: dict[str, str]) -> registry.Workspace:
    ws.extra = {k: ws.root / v for k, v in extra.items()}
    return ws


def _is_complete_fits(path: Path) -> bool:
    from astropy.io import fits
    size = path.stat().st_size
    if size == 0 or size % 2880:
        return False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(path, memmap=False) as h:
                h.verify("exception")
                h.readall()
                for hdu in h:
                    _ = hdu.data
        return not any("truncat" in str(w.message) or "corrupt" in str(w.message)
                       for w in caught)
    except Exception:
        return False


def _fitsdiff(a: Path, b: Path, **kwargs):
    """``FITSDiff`` of two files read without memory mapping (as every read of the driver)."""
    from astropy.io import fits
    from astropy.io.fits import FITSDiff

    with fits.open(a, memmap=False) as ha, fits.open(b, memmap=False) as hb:
        return FITSDiff(ha, hb, **kwargs)  # computed here, while both are open


def _volatile(a: Path, b: Path) -> tuple[set[str], set[str]]:
    """Header keywords, and names of HDUs whose data, differ between two clean runs.

    (Dates written by the task; a headerlet extension embeds its own DATE.)
    """
    diff = _fitsdiff(a, b)
    names: set[str] = set()
    hdus: set[str] = set()
    for item in diff.diff_hdus:
        hd = item[1]
        dh = hd.diff_headers
        names.update(dh.diff_keyword_values)
        names.update(dh.diff_keyword_comments)
        if hd.diff_data is not None and not hd.diff_data.identical:
            hdus.add(str(item[2] or "PRIMARY"))
    return names, hdus


def _equal_new(path: Path, expected: Path, volatile: list[str], volatile_hdus: list[str]
               ) -> bool:
    if sha256(path) == sha256(expected):
        return True
    from astropy.io import fits

    def layout(p):
        with fits.open(p, memmap=False) as h:
            return [(hdu.name, hdu.ver, type(hdu).__name__) for hdu in h]

    if layout(path) != layout(expected):  # the ignored HDUs must still be there
        return False
    return _fitsdiff(path, expected, ignore_keywords=volatile, ignore_comments=volatile,
                     ignore_hdus=volatile_hdus, rtol=0.0, atol=0.0).identical


def _diff_report(path: Path, expected: Path, volatile: list[str],
                 volatile_hdus: list[str]) -> str:
    """What differs between a killed run's file and the clean result (for the failure message)."""
    try:
        return _fitsdiff(path, expected, ignore_keywords=volatile, ignore_comments=volatile,
                         ignore_hdus=volatile_hdus).report()[-3000:]
    except Exception as exc:  # diagnostics only: never mask the real failure
        return f"(no diff report: {exc})"


def kill_points(calls: int, io_calls: int, n: int) -> list[tuple[str, int]]:
    """``n`` distinct kill points: half on I/O calls, the rest spread over the run.

    The I/O half always includes the last three I/O calls (the ``fsync`` and
    ``os.replace`` that commit the last file).
    """
    n_io = min(io_calls, n - n // 2)
    ios = {io_calls - k for k in range(min(3, n_io))}
    for k in range(n_io):
        if len(ios) >= n_io:
            break
        ios.add(1 + round(k * (io_calls - 1) / max(n_io - 1, 1)))
    n_calls = min(calls, n - len(ios))
    cs = {max(1, round((j + 0.5) * calls / n_calls)) for j in range(n_calls)}
    return [("io", k) for k in sorted(ios)] + [("call", k) for k in sorted(cs)]


def fast_points(os_calls: int, n: int) -> list[tuple[str, int]]:
    """``n`` kill points among the os-level file calls, always including the last two."""
    pts = {os_calls - k for k in range(min(2, n, os_calls))}
    for k in range(n):
        if len(pts) >= min(n, os_calls):
            break
        pts.add(1 + round(k * (os_calls - 1) / max(n - 1, 1)))
    return [("os", k) for k in sorted(pts)]


def run(task_name: str, template: Path, workdir: Path, nkills: int,
        fsize: int | None = None, fast: bool = False) -> dict:
    spec = registry.task(task_name)
    if not spec.available():
        return {"task": task_name, "skipped": "not importable"}
    workdir.mkdir(parents=True, exist_ok=True)
    prepared = workdir / "prepared"
    extra = _prepare_isolated(spec, template, prepared, workdir / "prepare.json")
    ws = _with_extra(registry.Workspace.at(prepared), extra)
    rel_inputs = _relinputs(spec, ws)
    old = {r: sha256(prepared / r) for r in rel_inputs}
    run_root = workdir / "run"
    report = workdir / "child.json"
    summary: dict = {"task": task_name, "inputs": rel_inputs}

    if fsize is not None:
        ws = _with_extra(_fresh(prepared, run_root), extra)
        ended, data = _fork_run(spec, ws, report, fsize=fsize)
        changed = [r for r in rel_inputs
                   if not (run_root / r).exists() or sha256(run_root / r) != old[r]]
        summary.update({"mode": "fsize", "limit": fsize, "ended": ended, "child": data,
                        "changed": changed})
        return summary

    # clean runs: count calls, note the I/O ones, keep the expected results
    expected = workdir / "expected"
    shutil.rmtree(expected, ignore_errors=True)
    clean: list[dict] = []
    for i in range(2):
        ws = _with_extra(_fresh(prepared, run_root), extra)
        ended, data = _fork_run(spec, ws, report, fast=fast)
        if data is None or data["outcome"] != "returned":
            summary["error"] = f"clean run failed ({ended}): {data}"
            return summary
        clean.append(data)
        dest = expected / str(i)
        shutil.copytree(run_root, dest)
    # Dates have a resolution of one second: two quick clean runs may agree on
    # them while a killed run does not, so they are always volatile (a headerlet
    # extension embeds its own DATE).  Completeness is checked regardless.
    volatile: set[str] = {"DATE", "IRAF-TLM"}
    volatile_hdus: set[str] = {"HDRLET"}
    for r in rel_inputs:
        a, b = expected / "0" / r, expected / "1" / r
        if a.exists() and b.exists() and sha256(a) != sha256(b):
            kws, hdus = _volatile(a, b)
            volatile.update(kws)
            volatile_hdus.update(hdus)
    volatile_l, volatile_h = sorted(volatile), sorted(volatile_hdus)
    total = clean[0]["calls"]
    if fast:
        points = fast_points(clean[0]["os"], nkills)
    else:
        points = kill_points(total, clean[0]["io"], nkills)
    created = {str(p.relative_to(prepared)) for p in prepared.rglob("*")}
    counts = {"kills": 0, "finished": 0, "files": 0, "old": 0, "new": 0,
              "intermediate": 0, "corrupt": 0, "products": 0, "bad_products": 0,
              "leftover_tmp": 0}
    problems: list[str] = []
    # Call counts vary a little from run to run (garbage collection), so a
    # point near the end may be passed without a kill: then try more points.
    tried: list[tuple[str, int]] = []
    queue = list(points)
    more = 2
    while counts["kills"] < nkills:
        if not queue:
            if more > 8:
                break
            more *= 2
            queue = [p for p in (fast_points(clean[0]["os"], more * nkills) if fast else
                                 kill_points(total, clean[0]["io"], more * nkills))
                     if p not in tried]
            continue
        k = queue.pop(0)
        tried.append(k)
        ws = _with_extra(_fresh(prepared, run_root), extra)
        ended, data = _fork_run(spec, ws, report, kill_at=k)
        if ended == f"signal {int(signal.SIGKILL)}":
            counts["kills"] += 1
        else:
            counts["finished"] += 1
        for r in rel_inputs:
            p = run_root / r
            counts["files"] += 1
            if p.exists() and sha256(p) == old[r]:
                counts["old"] += 1
            elif p.exists() and _is_complete_fits(p) and \
                    _equal_new(p, expected / "0" / r, volatile_l, volatile_h):
                counts["new"] += 1
            elif p.exists() and _is_complete_fits(p):
                counts["intermediate"] += 1
                problems.append(f"kill at {k[0]} {k[1]}: {r} is valid but neither old nor new"
                                f"\n{_diff_report(p, expected / '0' / r, volatile_l, volatile_h)}")
            else:
                counts["corrupt"] += 1
                problems.append(f"kill at {k[0]} {k[1]}: {r} is corrupt or missing")
        for p in run_root.rglob("*"):
            if not p.is_file():
                continue
            if p.name.startswith(".") and p.name.endswith(".tmp"):
                counts["leftover_tmp"] += 1
            elif p.suffix == ".fits" and str(p.relative_to(run_root)) not in created:
                counts["products"] += 1
                if not _is_complete_fits(p):
                    counts["bad_products"] += 1
                    problems.append(f"kill at {k[0]} {k[1]}: product {p.name} is incomplete")
    summary.update({"mode": "kill", "calls": total, "io_calls": clean[0]["io"],
                    "os_calls": clean[0]["os"],
                    "points": tried, "volatile": volatile_l, "volatile_hdus": volatile_h, **counts,
                    "problems": problems[:20]})
    shutil.rmtree(run_root, ignore_errors=True)
    return summary


def main(argv: list[str]) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tasks", help="comma-separated task names (see registry.TASKS)")
    ap.add_argument("template", type=Path)
    ap.add_argument("workdir", type=Path)
    ap.add_argument("nkills", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--fast", action="store_true",
                    help="kill only at os-level file calls (no profiler: much faster)")
    ap.add_argument("--fsize", type=int, default=None,
                    help="limit written file sizes to this many bytes instead of killing")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    results = []
    for name in args.tasks.split(","):
        try:
            results.append(run(name, args.template, args.workdir / name, args.nkills,
                               fsize=args.fsize, fast=args.fast))
        except Exception:
            results.append({"task": name, "error": traceback.format_exc(limit=-5)})
        shutil.rmtree(args.workdir / name, ignore_errors=True)
    args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
