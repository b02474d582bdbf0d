"""The challenge manifest (harness/challenges.py) against the tree, and every challenge's main.py
as a standalone executable: started by its own path as --bin, with no venv activated."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.challenge_table import markdown_table
from harness.challenges import CHALLENGES, NODE_SHEBANG, ROOT, Challenge, by_folder

GIT = shutil.which("git") is not None and (ROOT / ".git").exists()


def clean_env() -> dict[str, str]:
    """The environment of a newcomer's shell: no venv activated, nothing of ours on PATH."""
    venv_bin = str(Path(sys.prefix) / "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    return env


def test_the_manifest_lists_exactly_the_challenge_folders() -> None:
    folders = {p.parent.name for p in ROOT.glob("*/main.py")}
    listed = {c.folder for c in CHALLENGES}
    assert not folders - listed, (
        f"{sorted(folders - listed)}: a program folder needs an entry in harness/challenges.py "
        "(its main.py starting with NODE_SHEBANG, chmod +x, and a run.sh calling maelstrom run-challenge)"
    )
    assert not listed - folders, (
        f"{sorted(listed - folders)} listed in harness/challenges.py but have no main.py"
    )
    assert len({c.number for c in CHALLENGES}) == len(CHALLENGES)
    assert by_folder("echo").folder == by_folder(str(ROOT / "echo") + "/").folder == "echo"
    with pytest.raises(KeyError, match="not a challenge folder"):
        by_folder("nope")


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.folder)
def test_main_py_is_executable_and_finds_the_venv_itself(challenge: Challenge) -> None:
    path = challenge.main_py
    assert path.read_text().split("\n", 1)[0] == NODE_SHEBANG
    assert os.access(path, os.X_OK), f"chmod +x {path}"
    run_sh = ROOT / challenge.folder / "run.sh"
    assert os.access(run_sh, os.X_OK)
    assert re.search(r'/\.\./maelstrom" run-challenge "\$\(dirname "\$0"\)"', run_sh.read_text())
    if GIT:  # the run bit is what a clone gets
        staged = subprocess.run(
            ["git", "ls-files", "-s", "--", f"{challenge.folder}/main.py", f"{challenge.folder}/run.sh"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.split("\n")  # fmt: skip
        modes = {line.split()[-1]: line.split()[0] for line in staged if line}
        if modes:  # not yet committed files have no index entry
            assert set(modes.values()) == {"100755"}, modes


def test_the_shebang_fits_every_kernel_we_support() -> None:
    # Linux before 5.1 cut #! lines at 127 bytes, later ones at 255; macOS at 512
    assert len(NODE_SHEBANG.encode()) < 255


def test_readme_shows_the_manifest_table() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- challenges: begin -->", "<!-- challenges: end -->"
    assert start in readme and end in readme
    shown = readme.split(start, 1)[1].split(end, 1)[0].strip()
    assert shown == markdown_table(), "regenerate it: python -m harness challenges --markdown"


#: a short, low-rate run of every challenge; later flags override the challenge's own
SHORT = ("--time-limit", "1.5", "--rate", "20", "--recovery-time", "1", "--no-plots", "--seed", "1")
#: the counter converges in rounds: short ones, and room for them after the main phase
ENV = {"grow-only-counter": {"COUNTER_SYNC_INTERVAL": "0.1", "COUNTER_SYNC_IDLE_MAX": "0.2"}}
MORE = {
    "grow-only-counter": ("--recovery-time", "3"),
    # Raft needs its first election (0.3-0.6 s) before anything succeeds, and a cas succeeds only
    # when its random `from` is the value: 1.5 s leaves too few for one of each to be sure
    "raft-lin-kv": ("--time-limit", "4"),
}


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.folder)
def test_main_py_by_its_path_gives_a_valid_short_run(challenge: Challenge, tmp_path: Path) -> None:
    """Each challenge is run, so that a missing shebang or run bit in any of them fails here."""
    variant = next(v for v in challenge.variants if not v.needs_redis)  # unique-ids: coordination-free
    # by a relative path, from the challenge's folder, as Fly.io's commands do
    command = [
        sys.executable, "-m", "harness", "test", *challenge.flags, "--bin", "./main.py", *variant.node_args,
        *SHORT, *MORE.get(challenge.folder, ()), "--store", str(tmp_path / "store"),
    ]  # fmt: skip
    env = {**clean_env(), **ENV.get(challenge.folder, {})}
    done = subprocess.run(
        command, cwd=ROOT / challenge.folder, env=env, capture_output=True, text=True, timeout=80
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    results = json.loads(next((tmp_path / "store").glob("*/*/results.json")).read_text())
    assert results["valid?"] is True
    assert results["stats"]["ok-count"] > 0


def test_the_root_maelstrom_runs_the_fly_io_command_from_a_challenge_folder(tmp_path: Path) -> None:
    """`cd echo && ../maelstrom test -w echo --bin ./main.py --node-count 1 --time-limit 10`, shortened."""
    done = subprocess.run(
        ["../maelstrom", "test", "-w", "echo", "--bin", "./main.py", "--node-count", "1", "--time-limit", "1",
         "--store", str(tmp_path / "store")],
        cwd=ROOT / "echo", env=clean_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Everything looks good!" in done.stdout + done.stderr
    assert list((tmp_path / "store" / "echo").glob("*/results.edn"))


def test_maelstrom_says_what_it_is() -> None:
    for flag in ("--version", "--help"):
        done = subprocess.run(
            [str(ROOT / "maelstrom"), flag], env=clean_env(), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0
        assert "Java-free, Maelstrom-compatible" in done.stdout
    done = subprocess.run(
        [str(ROOT / "maelstrom"), "test", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "--bin FILE" in done.stdout and "Java-free" in done.stdout


def test_maelstrom_works_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    os.symlink("../m", tmp_path / "bin" / "maelstrom")  # a relative link to a link to the script
    os.symlink(ROOT / "maelstrom", tmp_path / "m")
    done = subprocess.run(
        [str(tmp_path / "bin" / "maelstrom"), "--version"], env=clean_env(), capture_output=True, text=True,
        timeout=60, cwd="/",
    )  # fmt: skip
    assert done.returncode == 0 and "Java-free" in done.stdout, done.stderr


def test_challenges_lists_the_folders_in_order() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "challenges"], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == [c.folder for c in CHALLENGES]
