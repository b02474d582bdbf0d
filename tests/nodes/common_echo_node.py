"""An echo node built on common, for the runner's real-versus-simulated tests; the first
argument picks a (mis)behaviour.

echo            correct
wrong-echo      echoes a different value (the checker's catch)
unknown-dest    sends a message to a node that does not exist on the 3rd echo (a node fault)
exit            exits with status 3 after 3 echoes (the run aborts)
stray-print     print()s to stdout on every echo: it must go to the log, not the network
chatty          writes 1 KB to stderr on every echo (for the node-log limit)
"""

import sys

from common import Node

mode = sys.argv[1] if len(sys.argv) > 1 else "echo"
node = Node()
count = 0


@node.handler("echo")
def echo(msg):
    global count
    count += 1
    if mode == "unknown-dest" and count == 3:
        node.send("n99", {"type": "hello"})
    if mode == "exit" and count > 3:
        sys.exit(3)
    if mode == "chatty":
        print(f"echo number {count} " + "x" * 1000, file=sys.stderr)
    if mode == "stray-print":
        print(f"echo number {count}")
    value = msg.body["echo"]
    return {"type": "echo_ok", "echo": f"{value}!" if mode == "wrong-echo" else value}


if __name__ == "__main__":
    node.run()
