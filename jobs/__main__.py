"""`python -m jobs ...` runs the partnerkit CLI (useful where the console script is not on PATH)."""

from jobs.cli import main

main()
