"""Contract violations the robustness suite found, keyed by (case, task).

Each entry is a strict xfail in ``test_corpus.py``: when the owner fixes the
task, the test starts to pass, strict xfail turns that into a failure, and
the entry must be removed here.  ``make_table.py`` shows them in the docs.
"""

KNOWN: dict[tuple[str, str], str] = {
}
