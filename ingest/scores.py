"""Match scoring defaults, without Spark: the workspace file's defaults and the Python API's.

`threshold` is the Noisy-OR score a (profile, partner person) pair needs to be a match; a
criterion's score is the partner's confidence where it gives one, else its kind's default.
"""

from __future__ import annotations

DEFAULT_THRESHOLD = 0.5
DEFAULT_CRITERION_SCORES = {"email": 0.9, "phone": 0.8, "address": 0.6, "maid": 0.7}
