"""Run progress on stderr: one live status line on a TTY, plain log lines otherwise; the run's
log, ``jepsen.log``, with every line and every operation (jepsen-io/jepsen, jepsen/src/jepsen/util.clj).

Operations are printed as Jepsen's ``jepsen.util`` logs them (``INFO\t[jepsen worker 0]
jepsen.util: 0\t:invoke\t:add\t5``), on the console unless ``show_ops`` is off, and always in
the log, whose lines carry an ISO 8601 UTC timestamp (logback's ``%d{ISO8601}{GMT}\t%p\t[%t] %c:
%m%n``). Node stderr lines under ``--log-stderr`` are logged likewise, on thread ``<node> stderr``
by logger ``maelstrom.process`` (jepsen-io/maelstrom, src/maelstrom/process.clj).
"""

from __future__ import annotations

import asyncio
import datetime
import sys
import time
from pathlib import Path
from typing import IO, Any


class Progress:
    """Counts completions and shows them; ``log`` keeps log lines and the status line apart."""

    def __init__(
        self, stream: IO[str] | None = None, *, live: bool | None = None, show_ops: bool = False
    ) -> None:
        self.stream = stream or sys.stderr
        self.show_ops = show_ops
        self._log_file: IO[str] | None = None
        self._stamp_second: datetime.datetime | None = None
        self._stamp_prefix = ""
        self.live = self.stream.isatty() if live is None else live
        self.ok = self.fail = self.info = 0
        self.phase = "starting"
        self.time_limit = 0.0
        self.started = time.monotonic()
        self.msgs = lambda: 0
        self._status_shown = False
        self._last_status = ""
        self._task: asyncio.Task[None] | None = None

    def open_log(self, path: Path) -> None:
        """From now on every line also goes to ``path`` (the run's jepsen.log)."""
        self._log_file = open(path, "a", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115 (closed in close_log)

    def close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _to_file(self, thread: str, logger: str, text: str) -> None:
        if self._log_file is not None:
            now = datetime.datetime.now(datetime.UTC)
            second = now.replace(microsecond=0)
            if second != self._stamp_second:  # strftime once a second, not once a line (op)
                self._stamp_second = second
                self._stamp_prefix = now.strftime("%Y-%m-%d %H:%M:%S,")
            stamp = self._stamp_prefix + f"{now.microsecond // 1000:03d}"
            self._log_file.write(f"{stamp}\tINFO\t[{thread}] {logger}: {text}\n")

    def _to_console(self, text: str) -> None:
        shown = self._status_shown
        if shown:
            self.stream.write("\r\x1b[2K")
        self.stream.write(text + "\n")
        if shown:  # keep the live status line under the lines that scroll past
            self.stream.write(self._last_status)
        self.stream.flush()

    def log(self, text: str, thread: str = "jepsen test runner", logger: str = "jepsen.core") -> None:
        self._to_file(thread, logger, text)
        self._to_console(text)

    def log_file_only(self, text: str) -> None:
        self._to_file("jepsen test runner", "jepsen.core", text)

    def node_stderr(self, node_id: str, line: str) -> None:
        """One stderr line of a node under ``--log-stderr``, logged as Maelstrom's stderr thread
        does: logger ``maelstrom.process`` on thread ``"<node> stderr"`` (process.clj
        ``stderr-thread``), in jepsen.log and, in the console's ``%p\t[%t] %c: %m`` form, on the
        console."""
        thread = f"{node_id} stderr"
        self._to_file(thread, "maelstrom.process", line)
        self._to_console(f"INFO\t[{thread}] maelstrom.process: {line}")

    def op(self, thread: Any, line: str) -> None:
        """One operation (a history.txt line), from worker ``thread`` or the nemesis."""
        name = "jepsen nemesis" if thread == "nemesis" else f"jepsen worker {thread}"
        self._to_file(name, "jepsen.util", line)
        if self.show_ops:
            self._to_console(f"INFO\t[{name}] jepsen.util: {line}")

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
                self._last_status = self.status(rate)
                self.stream.write("\r\x1b[2K" + self._last_status)
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
