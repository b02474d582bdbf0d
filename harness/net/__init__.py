"""Maelstrom's network and its twins, as Maelstrom's ``net/`` groups them (jepsen-io/maelstrom,
src/maelstrom/net.clj and src/maelstrom/net/): the simulated network (:mod:`harness.net.network`),
its checker (:mod:`harness.net.checker`, net/checker.clj) and the message diagram of its journal
(:mod:`harness.net.viz`, net/viz.clj; an SVG where Maelstrom draws one too).
"""
