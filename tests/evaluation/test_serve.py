"""Starting the service: where the token comes from, and settings refused before binding."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotune.evaluation import ServiceSettings, ServiceSetupError, create_app, serve_eval
from evotune.evaluation._serve import resolve_token


def test_token_precedence_option_then_file_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\nignored\n")
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", "from-env")
    assert resolve_token("given", token_file) == "given"
    assert resolve_token(None, token_file) == "from-file"
    assert resolve_token(None, None) == "from-env"
    monkeypatch.delenv("EVOTUNE_EVAL_TOKEN")
    with pytest.raises(ServiceSetupError, match="no token"):
        resolve_token(None, None)
    token_file.write_text("\n")
    with pytest.raises(ServiceSetupError, match="is empty"):
        resolve_token(None, token_file)
    with pytest.raises(ServiceSetupError, match="token file"):
        resolve_token(None, tmp_path / "absent")


def test_serve_eval_refuses_bad_setups_before_binding_a_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EVOTUNE_EVAL_TOKEN", raising=False)
    with pytest.raises(ServiceSetupError, match="no token"):
        serve_eval(["digits=sklearn:digits:validation"])
    with pytest.raises(ServiceSetupError, match="unknown bundled dataset"):
        serve_eval(["x=sklearn:mnist:validation"], token="t")
    with pytest.raises(ServiceSetupError, match="max_concurrency: must be > 0"):
        serve_eval(["digits=sklearn:digits:validation"], token="t", max_concurrency=0)


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ((), "at least one dataset"),
        (("a=sklearn:iris:validation", "a=sklearn:wine:validation"), "named twice"),
    ],
)
def test_create_app_refuses_bad_dataset_lists(datasets: tuple[str, ...], message: str) -> None:
    with pytest.raises(ServiceSetupError, match=message):
        create_app(ServiceSettings(datasets=datasets, token="t"))
