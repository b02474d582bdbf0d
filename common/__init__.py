"""Protocol I/O for Maelstrom nodes."""
