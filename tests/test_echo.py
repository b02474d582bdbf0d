"""End-to-end: echo/main.py as a real process, stdin a pipe or a regular file."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ECHO_MAIN = Path(__file__).resolve().parent.parent / "echo" / "main.py"
INIT = {"src": "c0", "dest": "n1", "body": {"type": "init", "node_id": "n1", "node_ids": ["n1"], "msg_id": 1}}


def encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg).encode() + b"\n"


def echo_request(msg_id: int, value: Any) -> bytes:
    return encode({"src": "c1", "dest": "n1", "body": {"type": "echo", "echo": value, "msg_id": msg_id}})


def start(stdin: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ECHO_MAIN)], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()  # only this test's own child, by its handle
        process.wait(timeout=5)


def read_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the node did not answer in time"
    return process.stdout.readline()


HOSTILE = [b"not json\n", b"[1,2,3]\n", b'{"src":"c1"}\n', b"\n", b"\xff\xfe\n", b"[" * 100_000 + b"\n"]
HOSTILE += [encode({"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1_000_000}})]  # no echo: 12
HOSTILE += [encode({"src": "c1", "dest": "n1", "body": {"type": "nope", "msg_id": 1_000_001}})]  # unknown: 10
HOSTILE += [encode({"src": "c1", "dest": "n1", "body": {"type": "echo", "echo": "no id"}})]  # no reply


def check_session(stdout: bytes, count: int) -> None:
    replies = [json.loads(text) for text in stdout.splitlines()]
    assert all(set(msg) == {"src", "dest", "body"} and msg["src"] == "n1" for msg in replies)
    bodies = {msg["body"]["in_reply_to"]: msg["body"] for msg in replies}
    assert len(bodies) == len(replies) == count + 3
    assert bodies[1] == {"type": "init_ok", "in_reply_to": 1}
    assert (bodies[1_000_000]["code"], bodies[1_000_001]["code"]) == (12, 10)
    big = "é" * 40_000
    assert bodies[2]["echo"] == big
    for msg_id in range(3, count + 2):
        assert bodies[msg_id] == {"type": "echo_ok", "echo": f"Please echo {msg_id}", "in_reply_to": msg_id}


def session(count: int) -> bytes:
    requests = [echo_request(2, "é" * 40_000)]  # a line longer than 64 KiB once encoded
    requests += [echo_request(msg_id, f"Please echo {msg_id}") for msg_id in range(3, count + 2)]
    requests[10:10] = HOSTILE
    return b"".join(requests)


def test_echo_over_pipes_answers_before_eof_and_exits_zero():
    process = start(subprocess.PIPE)
    try:
        assert process.stdin is not None
        process.stdin.write(encode(INIT))
        process.stdin.flush()
        first = json.loads(read_line(process, 10))  # answered while stdin is still open
        assert first["body"] == {"type": "init_ok", "in_reply_to": 1}
        stdout, stderr = process.communicate(session(2000), timeout=30)
        check_session(first_line(first) + stdout, 2000)
        assert process.returncode == 0
        assert b"not a Maelstrom message" in stderr and b"unsupported message type" in stdout
    finally:
        stop(process)


def first_line(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg).encode() + b"\n"


def test_echo_with_stdin_a_regular_file():
    with tempfile.TemporaryFile() as source:
        source.write(encode(INIT) + session(2000))
        source.seek(0)
        process = start(source)
        try:
            stdout, _ = process.communicate(timeout=30)
            check_session(stdout, 2000)
            assert process.returncode == 0
        finally:
            stop(process)


def test_echo_stdin_dev_null_exits_zero_quietly():
    with open(os.devnull, "rb") as empty:
        process = start(empty)
        try:
            stdout, stderr = process.communicate(timeout=15)
            assert (process.returncode, stdout, stderr) == (0, b"", b"")
        finally:
            stop(process)
