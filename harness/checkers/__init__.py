"""Pure functions from a history to a result dict (see "Checker results" in docs/architecture.md).

Each workload's checker is reached through its workload class (``harness.workloads.REGISTRY``);
``core`` holds the checkers every test runs and how results are composed and summarised.
"""
