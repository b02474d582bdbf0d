"""Headless Chromium for the tests that load pages as a person would (reports, serve, timelines).

``render(url)`` starts a browser in its own process group, returns the DOM after load and the
console lines, and kills only that group if it hangs. ``needs_chromium`` skips a test where no
browser is installed, except in CI (CI=true), where scripts/setup.sh installs chromium, so a
missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile

import pytest


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


needs_chromium = pytest.mark.skipif(
    chromium() is None and not os.environ.get("CI"),
    reason="chromium not installed (apt-get install -y chromium)",
)


def render(url: str) -> tuple[str, list[str]]:
    """(DOM after load, console messages) from a headless Chromium that we start and stop."""
    exe = chromium()
    assert exe is not None
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [exe, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0", "--dump-dom", url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            dom, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # our own process group only
            proc.communicate()
            raise
    return dom, [line for line in err.splitlines() if ":CONSOLE" in line]
