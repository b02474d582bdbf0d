"""Run progress on stderr: one live status line on a TTY, plain log lines otherwise."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import IO


class Progress:
    """Counts completions and shows them; ``log`` keeps log lines and the status line apart."""

    def __init__(self, stream: IO[str] | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.ok = self.fail = self.info = 0
        self.phase = "starting"
        self.time_limit = 0.0
        self.started = time.monotonic()
        self.msgs = lambda: 0
        self._status_shown = False
        self._task: asyncio.Task[None] | None = None

    def log(self, text: str) -> None:
        if self._status_shown:
            self.stream.write("\r\x1b[2K")
            self._status_shown = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def completed(self, type_: str) -> None:
        if type_ == "ok":
            self.ok += 1
        elif type_ == "fail":
            self.fail += 1
        else:
            self.info += 1

    def start(self, time_limit: float, msgs: object) -> None:
        self.time_limit = time_limit
        self.started = time.monotonic()
        self.msgs = msgs  # type: ignore[assignment]
        self._task = asyncio.get_running_loop().create_task(self._run())

    def status(self, rate: float) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"[{self.phase}] {elapsed:6.1f}s / {self.time_limit:g}s  ok {self.ok}  fail {self.fail}  "
            f"info {self.info}  {rate:,.0f} msgs/s"
        )

    async def _run(self) -> None:
        last_msgs, last_t = self.msgs(), time.monotonic()
        period = 0.5 if self.live else 5.0
        while True:
            await asyncio.sleep(period)
            now, msgs = time.monotonic(), self.msgs()
            rate = (msgs - last_msgs) / max(now - last_t, 1e-9)
            last_msgs, last_t = msgs, now
            if self.live:
                self.stream.write("\r\x1b[2K" + self.status(rate))
                self.stream.flush()
                self._status_shown = True
            else:
                self.log(self.status(rate))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._status_shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._status_shown = False
