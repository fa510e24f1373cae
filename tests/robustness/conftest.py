"""Fixtures of the robustness suite and its summary table.

The fault-injection tests record their figures in ``config.stash``; the
table is printed at the end of the run whatever the ``-s``/``-q`` options.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the suite's helper modules (registry, corpus ...)
    sys.path.insert(0, str(HERE))

FAULT_SUMMARY = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def rb_template(tmp_path_factory) -> Path:
    """The good simulated data set every case and task starts from."""
    import registry
    return registry.make_template(tmp_path_factory.mktemp("rb_template"))


@pytest.fixture(scope="session")
def fault_summary(request) -> list:
    """Rows (dicts) of the fault-injection summary table."""
    return request.config.stash.setdefault(FAULT_SUMMARY, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    rows = config.stash.get(FAULT_SUMMARY, [])
    if not rows:
        return
    tr = terminalreporter
    tr.section("fault injection (SIGKILL at counted calls; files old/new/other)")
    cols = ("task", "mode", "kills", "finished", "files", "old", "new", "other",
            "leftover_tmp")
    tr.write_line("  ".join(f"{c:>16}" if i == 0 else f"{c:>8}" for i, c in enumerate(cols)))
    for r in rows:
        tr.write_line("  ".join(f"{str(r.get(c, '')):>16}" if i == 0 else
                                f"{str(r.get(c, '')):>8}" for i, c in enumerate(cols)))
