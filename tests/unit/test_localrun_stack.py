"""The local runtime serves several stack files together: stack.yml and stack.sandbox.yml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prichal_localrun.runner import parse_args
from prichal_localrun.stack import default_stack_paths, load_stack

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, functions: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"version: 1.0\nfunctions:\n{functions}")
    return path


def test_by_default_the_production_stack_and_the_sandbox_are_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRICHAL_STACK", raising=False)
    assert default_stack_paths() == [ROOT / "stack.yml", ROOT / "stack.sandbox.yml"]
    names = [function.name for function in load_stack()]
    assert "mock-payments" in names and "create-order" in names
    assert parse_args([]).stack is None  # the runner falls back to the same two files


def test_prichal_stack_names_one_file_or_several(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _write(tmp_path / "a" / "stack.yml", "  one: {handler: ./one}\n")
    two = _write(tmp_path / "b" / "extra.yml", "  two: {handler: ./two}\n")
    monkeypatch.setenv("PRICHAL_STACK", f"{one}{os.pathsep}{two}")
    assert default_stack_paths() == [one, two]
    first, second = load_stack()
    assert (first.name, first.handler_dir) == ("one", tmp_path / "a" / "one")  # relative to its own file
    assert (second.name, second.handler_dir) == ("two", tmp_path / "b" / "two")
    monkeypatch.setenv("PRICHAL_STACK", str(one))
    assert [function.name for function in load_stack()] == ["one"]
    assert [function.name for function in load_stack([two, one])] == ["two", "one"]
    assert parse_args(["--stack", str(one), "--stack", str(two)]).stack == [one, two]


def test_a_function_in_two_stack_files_is_refused(tmp_path: Path) -> None:
    one = _write(tmp_path / "stack.yml", "  same: {handler: ./a}\n")
    two = _write(tmp_path / "stack.sandbox.yml", "  same: {handler: ./b}\n")
    with pytest.raises(ValueError, match="'same' is defined in both"):
        load_stack([one, two])
