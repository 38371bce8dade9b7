"""`python -m jobs ...` or `spark-submit .../jobs/__main__.py ...` runs the partnerkit CLI.

spark-submit runs this file as a script, which puts its folder (jobs/) first on sys.path;
that folder's modules (config, errors, spark...) would then shadow same-named top-level
modules, so it is taken off before anything else is imported.
"""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

from jobs.cli.app import main  # noqa: E402

main()
