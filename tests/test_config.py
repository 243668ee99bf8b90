"""Settings: read from SEARCH_* variables, and every one documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_service import config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_readme(setting):
    assert f"`SEARCH_{setting.name}`" in README


def test_environment_variables_override_defaults_with_their_type(monkeypatch):
    monkeypatch.setenv("SEARCH_MAX_FILE_MB", "0.5")
    monkeypatch.setenv("SEARCH_MAX_QUERY_CHARS", "200")
    monkeypatch.setenv("SEARCH_INDEX_DIR", "/srv/index")
    values = config.load()
    assert (values["MAX_FILE_MB"], values["MAX_QUERY_CHARS"], values["INDEX_DIR"]) == \
        (0.5, 200, "/srv/index")


def test_explicit_overrides_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("SEARCH_INDEX_DIR", "/srv/index")
    assert config.load({"INDEX_DIR": "/tmp/other"})["INDEX_DIR"] == "/tmp/other"
    assert config.index_dir("/tmp/explicit") == Path("/tmp/explicit")
