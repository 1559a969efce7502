"""The runnable examples in the strategies' docstrings stay runnable and true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["_base", "_cma", "_elitist", "_random"]  # the modules with examples


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str) -> None:
    mod = importlib.import_module(f"evotune.strategies.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
