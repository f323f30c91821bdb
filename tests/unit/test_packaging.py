"""The core package as a function image installs it (a wheel, not the editable checkout)
carries its migrations, document templates and fonts."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_wheel_carries_migrations_templates_and_fonts(tmp_path):
    source = tmp_path / "shared"  # a copy: building leaves build/ and egg-info behind
    shutil.copytree(SHARED, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)], check=True, capture_output=True)
    names = set(zipfile.ZipFile(next((tmp_path / "dist").glob("prichal-*.whl"))).namelist())
    package = SHARED / "prichal"
    expected = {f"prichal/{path.relative_to(package)}" for path in package.rglob("*")
                if path.is_file() and "__pycache__" not in path.parts
                and (path.suffix in {".py", ".mako", ".html", ".txt", ".css", ".ttf"}
                     or path.name.startswith("LICENSE"))}
    assert expected - names == set()
    assert "prichal/adapters/db/migrations/versions/0001_initial_schema.py" in names
