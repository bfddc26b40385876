"""The compiled SIP core (softswitch/native.py): used only when current, never required."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from softswitch.sip import NATIVE_STAMP, source_digest

ROOT = Path(__file__).resolve().parents[2]
# What a fresh process runs: the package's status line, then where its message module came from.
WHICH = (
    "import softswitch.sip as s, softswitch.sip.message as m; "
    "print(s.NATIVE_STATUS); print(m.__file__)"
)


def run(code: str, **env: str) -> list[str]:
    """Run Python in a fresh process (imports decide once) with these environment changes
    (and without the SIP_NATIVE this suite may run under)."""
    environment = {name: value for name, value in os.environ.items() if name != "SIP_NATIVE"}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_no_build_runs_pure_python(tmp_path: Path) -> None:
    status, module = run(WHICH, VOSADMIN_VAR_DIR=str(tmp_path))
    assert status == "pure Python (no native build: make native)"
    assert module.endswith("softswitch/sip/message.py")


def test_a_stale_build_is_ignored(tmp_path: Path) -> None:
    """A module edited since the build: its stamp no longer matches, the sources run."""
    package = tmp_path / "sip-native" / "softswitch" / "sip"
    package.mkdir(parents=True)
    (package / "SOURCES").write_text("0" * 64 + "\n")
    status, module = run(WHICH, VOSADMIN_VAR_DIR=str(tmp_path))
    assert status == "pure Python (the native build is stale: make native)"
    assert module.endswith("softswitch/sip/message.py")


def current_build() -> bool:
    try:
        return NATIVE_STAMP.read_text().strip() == source_digest()
    except OSError:
        return False


@pytest.mark.skipif(not current_build(), reason="no current native build (make native)")
def test_a_current_build_is_used_unless_switched_off() -> None:
    status, module = run(WHICH)
    assert status.startswith("compiled")
    assert module.endswith(".so") and "/sip-native/softswitch/sip/message." in module
    status, module = run(WHICH, SIP_NATIVE="0")
    assert status == "pure Python (SIP_NATIVE=0)"
    assert module.endswith("softswitch/sip/message.py")


def test_a_failed_build_leaves_pure_python_and_no_half_build(tmp_path: Path) -> None:
    """No working C compiler: `make native` says why, exits 0, and writes no stamp."""
    result = subprocess.run(
        [sys.executable, "-m", "softswitch.native"],
        cwd=ROOT,
        env={**os.environ, "VOSADMIN_VAR_DIR": str(tmp_path), "CC": "/bin/false"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "SIP core: not compiled, the engine runs pure Python" in result.stderr
    assert not list(tmp_path.rglob("SOURCES")) and not list(tmp_path.rglob("*.so"))
    status, _ = run(WHICH, VOSADMIN_VAR_DIR=str(tmp_path))
    assert status == "pure Python (no native build: make native)"
