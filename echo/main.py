#!/usr/bin/env python3
"""Challenge 1, Echo: answer every ``echo`` request with the same ``echo`` value."""

from common import Node

node = Node()


@node.handler("echo")
def echo(msg):
    return {"type": "echo_ok", "echo": msg.body["echo"]}


if __name__ == "__main__":
    node.run()
