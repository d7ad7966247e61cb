from pathlib import Path

import pytest

from rag.config import Settings, load_settings
from rag.errors import RagError


def test_precedence_defaults_toml_env_flags(tmp_path: Path) -> None:
    toml = tmp_path / "rag.toml"
    toml.write_text('model = "smollm2-135m"\ntop_k = 7\nmin_score = 0.5\n')
    s = load_settings(toml, env={"RAG_TOP_K": "3", "RAG_INDEX": "envidx"}, index="flagidx")
    assert s.model == "smollm2-135m"  # from the file
    assert s.min_score == 0.5
    assert s.top_k == 3  # env beats the file
    assert s.index == "flagidx"  # flags beat env
    assert s.chunk_tokens == Settings().chunk_tokens  # default


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    toml = tmp_path / "rag.toml"
    toml.write_text("colour = 1\n")
    with pytest.raises(RagError, match="unknown setting 'colour'"):
        load_settings(toml, env={})
    with pytest.raises(RagError, match="top_k"):
        load_settings(tmp_path / "none.toml", env={"RAG_TOP_K": "many"})


def test_no_verify_flag_reaches_the_settings() -> None:
    from rag.cli import _settings, build_parser

    assert _settings(build_parser().parse_args(["ask", "--no-verify", "q"])).verify is False
    assert _settings(build_parser().parse_args(["ask", "q"])).verify is True
