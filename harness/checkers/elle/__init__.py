"""One Elle core for the transactional checkers (txn-rw-register, txn-list-append, kafka).

* :mod:`.models`: consistency models -> forbidden anomalies, and Elle's ``:not``/``:also-not``;
* :mod:`.graph`: the dependency graph with typed edges (ww, wr, rw, process, realtime), SCCs,
  realtime and process edges from a history;
* :mod:`.cycles`: cycle-exists probes and concrete cycle search per SCC, classification (G0, G1c,
  G-single-item, G-nonadjacent-item, G2-item and -process/-realtime variants), the result map;
* :mod:`.explain`: each cycle in words (one sentence per edge) and as an SVG drawing; each
  per-transaction anomaly (G1a, internal, ...) in words;
* :mod:`.nil_reads`: Elle 0.2.7's definite nil reads, labelled beyond Maelstrom's verdict.

A checker builds the graph from its own reading of the history and supplies an
:class:`~.cycles.Explainer` that turns an edge into Elle's step map.
"""
