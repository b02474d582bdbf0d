#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 1, Echo: answer every ``echo`` request with the same ``echo`` value."""

from typing import Any

from common import Node
from common.requests import Request, parse


class Echo(Request):
    echo: Any  # any JSON value, null included; only a missing echo is malformed (error 12)


node = Node()


@node.handler("echo")
def echo(msg):
    return {"type": "echo_ok", "echo": parse(msg, Echo).echo}


if __name__ == "__main__":
    node.run()
