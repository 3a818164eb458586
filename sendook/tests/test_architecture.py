"""The layout's rules hold: pyproject.toml's import contracts (kernel below the apps, apps in one
direction, no import circles, the UI and API above the services) are all kept."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_of_the_architecture_is_kept():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is in requirements-dev.txt: install it"
    result = subprocess.run(
        [lint_imports, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # Every contract of pyproject.toml was read and checked, none skipped.
    assert "Contracts: 5 kept, 0 broken" in result.stdout, result.stdout[-2000:]
