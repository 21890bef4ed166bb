"""``python -m rivusio`` runs the command line interface and exits with its status."""

from __future__ import annotations

import runpy
import sys

import pytest


def test_python_m_rivusio_exits_with_the_commands_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m rivusio info NAME` for an unknown plugin prints the error and exits 1."""
    monkeypatch.setattr(sys, "argv", ["rivusio", "info", "no-such-plugin"])
    monkeypatch.delitem(sys.modules, "rivusio.__main__", raising=False)
    with pytest.raises(SystemExit) as info:
        runpy.run_module("rivusio", run_name="__main__")
    assert info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("rivusio: error: plugin 'no-such-plugin': not registered")
