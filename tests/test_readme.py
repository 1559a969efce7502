"""The README's examples run as written, and its study file is valid."""

from __future__ import annotations

import re
from pathlib import Path

from evotune.study import load_study

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_python_api_example_runs_and_finds_a_good_config() -> None:
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "strategy.ask" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    _, best = namespace["strategy"].best  # type: ignore[attr-defined]
    assert best < 0.05  # lr near 0.01, one layer, relu: the loss's floor is 0.01


def test_study_file_example_is_valid(tmp_path: Path) -> None:
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if b.startswith("name:"))
    (tmp_path / "study.yaml").write_text(block)
    spec = load_study(tmp_path / "study.yaml")
    assert spec.name == "digits" and spec.space["gamma"]["low"] == 1e-5
