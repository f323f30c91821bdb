"""ansible/: syntax of every playbook and ansible-lint (production profile), offline.

ansible-core and ansible-lint live in .venv/ansible (scripts/deploy-tools.sh). site.yml
imports k3s.orchestration.site, a collection installed from GitHub
(ansible/requirements.yml) that cannot be fetched where the tests run: its own syntax is
checked with that import removed, and ansible-lint excludes it (ansible/.ansible-lint).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / "ansible"
TOOLS = ROOT / ".venv" / "ansible" / "bin"
PLAYBOOKS = sorted(p.name for p in (ANSIBLE / "playbooks").glob("*.yml"))


def run(tool: str, *args: str, cwd: Path = ANSIBLE) -> subprocess.CompletedProcess[str]:
    executable = TOOLS / tool
    assert executable.exists(), f"{executable} is missing: scripts/deploy-tools.sh installs it (make venv runs it)"
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"), "ANSIBLE_LOCAL_TEMP": "/tmp/.ansible-tmp",
           "ANSIBLE_HOME": "/tmp/.ansible-home", "PATH": f"{TOOLS}:{os.environ['PATH']}", "NO_COLOR": "1"}
    return subprocess.run([str(executable), *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_every_playbook_parses() -> None:
    """One ansible-playbook run checks them all; site.yml without the GitHub collection's import."""
    plays = yaml.safe_load((ANSIBLE / "playbooks" / "site.yml").read_text())
    assert any(p.get("ansible.builtin.import_playbook") == "k3s.orchestration.site" for p in plays)
    local = [p for p in plays if p.get("ansible.builtin.import_playbook") != "k3s.orchestration.site"]
    copy = ANSIBLE / "playbooks" / f".site-syntax-{os.getpid()}.yml"
    copy.write_text(yaml.safe_dump(local))
    others = [f"playbooks/{p}" for p in PLAYBOOKS if p != "site.yml"]
    assert len(others) >= 4
    try:
        result = run("ansible-playbook", "-i", "inventory/example.yml", "--syntax-check", str(copy), *others)
    finally:
        copy.unlink()
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_k3s_collection_is_pinned() -> None:
    collections = yaml.safe_load((ANSIBLE / "requirements.yml").read_text())["collections"]
    k3s = next(c for c in collections if "k3s-ansible" in c["name"])
    assert k3s["version"][0].isdigit(), "pin k3s-ansible to a release tag, not a branch"


def test_ansible_lint_production_profile() -> None:
    result = run("ansible-lint", "--offline", "-q", "--nocolor")
    assert result.returncode == 0, result.stdout + result.stderr
