"""The packages as images and developers install them (wheels, not the editable checkout).

The core wheel carries its migrations, document templates and fonts, and neither the
sandbox provider (``prichal_sandbox``) nor the local runtime (``prichal_localrun``): those
are development tools in their own distributions, and no production function imports them.
"""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
DEV_PACKAGES = ("prichal_sandbox", "prichal_localrun")


def _wheel(tmp_path: Path, folder: Path, distribution: str) -> set[str]:
    """Build ``folder`` (a copy: building leaves build/ and egg-info behind); its file names."""
    source = tmp_path / folder.name
    shutil.copytree(folder, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)], check=True, capture_output=True)
    return set(zipfile.ZipFile(next((tmp_path / "dist").glob(f"{distribution}-*.whl"))).namelist())


def _sources(package: Path, prefix: str) -> set[str]:
    return {f"{prefix}/{path.relative_to(package)}" for path in package.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
            and (path.suffix in {".py", ".mako", ".html", ".txt", ".css", ".ttf"} or path.name.startswith("LICENSE"))}


@pytest.fixture(scope="module")
def core_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("core")
    _wheel(folder, SHARED, "prichal")
    return next((folder / "dist").glob("prichal-*.whl"))


def test_wheel_carries_migrations_templates_and_fonts(core_wheel):
    names = set(zipfile.ZipFile(core_wheel).namelist())
    assert _sources(SHARED / "prichal", "prichal") - names == set()
    assert "prichal/adapters/db/migrations/versions/0001_initial_schema.py" in names


def test_core_wheel_carries_neither_the_sandbox_nor_the_local_runtime(core_wheel):
    wheel = zipfile.ZipFile(core_wheel)
    names = set(wheel.namelist())
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {"prichal"}
    assert not [name for name in names if "sandbox" in name or "localrun" in name]
    metadata = wheel.read(next(name for name in names if name.endswith(".dist-info/METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    # The local runtime's servers are no extra of the core any more (prichal-localrun has them).
    assert not [line for line in requires if any(tool in line for tool in ("gunicorn", "moto", "aiosmtpd", "croniter"))]


@pytest.mark.parametrize(("folder", "distribution", "package", "must_have"), [
    ("sandbox", "prichal_sandbox", "prichal_sandbox", "prichal_sandbox/service.py"),
    ("localrun", "prichal_localrun", "prichal_localrun", "prichal_localrun/seed.py"),
])
def test_development_wheels_carry_their_package(tmp_path, folder, distribution, package, must_have):
    names = _wheel(tmp_path, ROOT / folder, distribution)
    assert _sources(ROOT / folder / package, package) - names == set()
    assert must_have in names
    assert not [name for name in names if name.startswith("prichal/")]


# Run in a fresh interpreter: the development packages are installed in .venv, so they are
# made unimportable first (an import of them fails loudly) and sys.modules is checked after.
_IMPORT_HANDLERS = r"""
import importlib.abc, importlib.util, json, sys

BLOCKED = tuple(json.loads(sys.argv[1]))


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is not in a production image", name=name)
        return None


sys.meta_path.insert(0, Refuse())
for number, handler in enumerate(json.loads(sys.argv[2])):
    spec = importlib.util.spec_from_file_location(f"production_handler_{number}", handler)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)))
"""


def test_production_handlers_import_neither_the_sandbox_nor_the_local_runtime(tmp_path):
    functions = yaml.safe_load((ROOT / "stack.yml").read_text())["functions"]
    handlers = [str(ROOT / function["handler"] / "handler.py") for function in functions.values()]
    assert len(handlers) >= 9 and not [h for h in handlers if "mock-payments" in h]
    done = subprocess.run([sys.executable, "-c", _IMPORT_HANDLERS, json.dumps(DEV_PACKAGES), json.dumps(handlers)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_check_sees_a_handler_that_imports_the_sandbox(tmp_path):
    """The subprocess check above can fail: the sandbox's own handler trips it."""
    handler = str(ROOT / "functions" / "mock-payments" / "handler.py")
    done = subprocess.run([sys.executable, "-c", _IMPORT_HANDLERS, json.dumps(DEV_PACKAGES), json.dumps([handler])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode != 0
    assert "prichal_sandbox" in done.stderr
