"""Files that hold secrets are ignored by git: an operator's `.env` and everything in `var/`
(the secret key, the first administrator's password)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (ROOT / ".git").exists() or not shutil.which("git"), reason="no git")
@pytest.mark.parametrize("path", [".env", "var/admin-password", "var/secret_key"])
def test_git_ignores_it(path: str) -> None:
    result = subprocess.run(["git", "check-ignore", "--quiet", path], cwd=ROOT, check=False)
    assert result.returncode == 0, f"{path} is not in .gitignore"
