"""Every public task on every relevant malformed input of the corpus.

The contract (docs/user_guide/robustness.rst): an exception from the
packages' own hierarchy (``StwcsError``, ``FitsblenderError``,
``DrizzlepacError``) whose message names the file at fault, with every input
byte-identical (sha256) afterwards; or, where the task documents it (TweakReg
finding no sources or matches), a normal return whose report says why.
Never a bare KeyError/IndexError/TypeError from numpy or astropy.

Violations found are listed in :data:`known_issues.KNOWN` and marked
``xfail(strict=True)``: fixing one makes its test fail until the entry is
removed.
"""

from __future__ import annotations

import shutil

import corpus
import pytest
from known_issues import KNOWN


def _params():
    out = []
    for c, t in corpus.pairs():
        marks = []
        if (c.name, t.name) in KNOWN:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[c.name, t.name]))
        out.append(pytest.param(c.name, t.name, id=f"{c.name}-{t.name}", marks=marks))
    return out


@pytest.fixture(scope="module")
def prepared_cache(tmp_path_factory):
    d = tmp_path_factory.mktemp("rb_prepared")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize(("case_name", "task_name"), _params())
def test_case(case_name, task_name, rb_template, prepared_cache, tmp_path):
    import registry
    spec = registry.task(task_name)
    if not spec.available():
        pytest.skip(f"{task_name} is not importable yet")
    outcome = corpus.run_case(corpus.case(case_name), spec, rb_template, prepared_cache,
                              tmp_path / "ws")
    assert outcome.ok, outcome.problem


def test_every_case_applies_somewhere():
    """A case no task reads is a gap in the registry (or a dead case)."""
    import registry
    unused = [c.name for c in corpus.CASES
              if not any(c.applies_to(t) for t in registry.TASKS)]
    # No registered task requires ERR arrays (a task that does declares "err").
    assert set(unused) <= {"missing_err"}, unused


def test_every_task_gets_cases():
    import registry
    for t in registry.TASKS:
        assert sum(c.applies_to(t) for c in corpus.CASES) >= 6, t.name
