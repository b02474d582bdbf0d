"""A Java-free, Maelstrom-compatible test runner."""
