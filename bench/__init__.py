"""`python -m bench`: KneeTrack measured against its own ceilings, in one run, on one machine.

See docs/BENCHMARKS.md for what is measured and how to read the table."""
