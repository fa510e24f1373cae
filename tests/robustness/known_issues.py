"""Contract violations the robustness suite found, keyed by (case, task).

Each entry is a strict xfail in ``test_corpus.py``: when the owner fixes the
task, the test starts to pass, strict xfail turns that into a failure, and
the entry must be removed here.  ``make_table.py`` shows them in the docs.
"""

_BLEND_TRUNC = ("blendheaders reads only headers: a truncated input is accepted "
                "without error (the product gets its headers)")

KNOWN: dict[tuple[str, str], str] = {
    ("truncated", "fb.blendheaders"): _BLEND_TRUNC,
    ("truncated", "blendheaders"): _BLEND_TRUNC,
    ("truncated_block", "fb.blendheaders"): _BLEND_TRUNC,
    ("truncated_block", "blendheaders"): _BLEND_TRUNC,
    ("product_truncated", "fb.blendheaders"):
        "a truncated drizzled product is rewritten without error",
    ("product_truncated", "blendheaders"):
        "a truncated drizzled product is rewritten without error",
    ("singular_cd", "AstroDrizzle"):
        "a singular CD matrix gives a bare numpy MemoryError (1.2 PiB output frame)",
    ("singular_cd", "TweakReg"): "a singular CD matrix is accepted; returns normally",
    ("singular_cd", "MapReg"): "a singular CD matrix is accepted; returns normally",
    ("no_wcs", "write_headerlet"):
        "the error names the headerlet being written, not the input lacking CRVAL1",
    ("no_overlap", "tweakback"):
        "an input 40 degrees away from the product is updated without a NoOverlapError",
}
