"""``prichal.admin dead-letters`` needs the local runtime's package, which production images
do not carry: without it the command says so instead of a traceback."""

from __future__ import annotations

import sys

import pytest

from prichal import admin


def test_dead_letters_without_the_local_runtime_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "prichal_localrun", None)  # an import of it now fails
    monkeypatch.setitem(sys.modules, "prichal_localrun.dead_letters", None)
    assert admin.main(["dead-letters", "issue-documents"]) == 2
    assert "prichal-localrun" in capsys.readouterr().err


def test_another_missing_module_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pika", None)  # a dependency of the runtime, not the runtime
    monkeypatch.delitem(sys.modules, "prichal_localrun.dead_letters", raising=False)
    monkeypatch.delitem(sys.modules, "prichal_localrun.connector", raising=False)
    with pytest.raises(ModuleNotFoundError):
        admin.main(["dead-letters", "issue-documents"])
