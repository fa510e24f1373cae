"""Sphinx configuration for the drizzlepac-ng documentation (all three packages)."""

import datetime
import os
import sys

import drizzlepac_ng
import fitsblender_ng
import stwcs_ng

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

project = "drizzlepac-ng"
author = "the drizzlepac-ng developers"
copyright = f"{datetime.date.today().year}, {author}"
version = release = drizzlepac_ng.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "migration_tables",
]

# Figures are produced when the docs build, from the project's own simulator.
plot_include_source = True
plot_html_show_source_link = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (6.0, 4.0)}
plot_working_directory = os.path.join(os.path.dirname(__file__), "_build", "plot_work")
os.makedirs(plot_working_directory, exist_ok=True)

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

doctest_global_setup = """
import os, tempfile
import numpy as np
_doc_tmp = tempfile.mkdtemp(prefix="dpng-doctest-")
os.chdir(_doc_tmp)
"""

# Links to numpy/astropy/gwcs/python docs need their inventories from the
# network; builds on offline machines (this project's CI) leave them out.
# Set DPNG_DOCS_INTERSPHINX=1 (the GitHub workflow does) to turn them on.
intersphinx_mapping = {} if os.environ.get("DPNG_DOCS_INTERSPHINX") != "1" else {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "astropy": ("https://docs.astropy.org/en/stable/", None),
    "gwcs": ("https://gwcs.readthedocs.io/en/stable/", None),
}
intersphinx_timeout = 10

html_theme = "sphinx_rtd_theme"
html_title = f"drizzlepac-ng {release}"
html_static_path = ["_static"]
exclude_patterns = ["_build", "**/_build", "Thumbs.db", ".DS_Store", "_generated",
                    "user_guide/*_table.rst"]  # included by other pages, not pages themselves
nitpicky = False

_versions = {
    "stwcs_ng": stwcs_ng.__version__,
    "fitsblender_ng": fitsblender_ng.__version__,
    "drizzlepac_ng": drizzlepac_ng.__version__,
}
rst_epilog = "\n".join(f".. |{k}_version| replace:: {v}" for k, v in _versions.items())
