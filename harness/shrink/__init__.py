"""From a failing simulated run to the smallest run that fails the same way, and swarm sweeps.

* :mod:`harness.shrink.schedule`: a run's main phase as an explicit schedule (``schedule.edn``),
  which ``--schedule FILE`` replays;
* :mod:`harness.shrink.verdict`: how a run failed (its failure signature);
* :mod:`harness.shrink.shrinker`: delta debugging over the schedule and the flags
  (``--shrink``, ``maelstrom shrink RUN_DIR``);
* :mod:`harness.shrink.swarm`: each seed of a sweep draws its own configuration (``--swarm``).
"""
