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


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_TOP_K": "0"}, "top_k must be between 1 and 20, got 0 (from RAG_TOP_K)"),
        ({"RAG_TOP_K": "-1"}, "top_k must be between 1 and 20"),
        ({"RAG_TOP_K": "4.5"}, "top_k must be a whole number"),
        ({"RAG_CHUNK_TOKENS": "3"}, "chunk_tokens must be at least 8"),
        ({"RAG_CHUNK_OVERLAP": "-1"}, "chunk_overlap must be at least 0"),
        ({"RAG_CONTEXT_TOKENS": "0"}, "context_tokens must be at least 1"),
        ({"RAG_MAX_ANSWER_TOKENS": "0"}, "max_answer_tokens must be at least 1"),
        ({"RAG_N_CTX": "-2048"}, "n_ctx must be at least 1"),
        ({"RAG_N_THREADS": "-1"}, "n_threads must be at least 0"),
        ({"RAG_TEMPERATURE": "-5"}, "temperature must be between 0 and 2, got -5.0"),
        ({"RAG_TEMPERATURE": "nan"}, "temperature must be a number"),
        ({"RAG_MIN_SCORE": "1.5"}, "min_score must be between -1 and 1"),
        ({"RAG_MAX_FILE_MB": "0"}, "max_file_mb must be more than 0"),
        ({"RAG_MAX_QUESTION_CHARS": "0"}, "max_question_chars must be at least 1"),
        ({"RAG_RETRIEVAL": "fuzzy"}, "retrieval must be one of hybrid, dense, lexical"),
        ({"RAG_UNSUPPORTED": "foo"}, "unsupported must be one of mark, drop, keep, got 'foo'"),
        ({"RAG_VERIFY": "maybe"}, "verify must be true or false, got 'maybe' (from RAG_VERIFY)"),
    ],
)
def test_values_out_of_range_are_errors_naming_the_variable(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(RagError) as info:
        load_settings(tmp_path / "none.toml", env=env)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_errors_name_the_file_or_the_flag(tmp_path: Path) -> None:
    toml = tmp_path / "rag.toml"
    toml.write_text('unsupported = "foo"\n')
    with pytest.raises(RagError, match=rf"unsupported must be .*\(from {toml}\)"):
        load_settings(toml, env={})
    toml.write_text("top_k = 4.7\n")  # not silently 4
    with pytest.raises(RagError, match="top_k must be a whole number"):
        load_settings(toml, env={})
    toml.write_text("verify = 2\n")
    with pytest.raises(RagError, match="verify must be true or false"):
        load_settings(toml, env={})
    with pytest.raises(RagError, match=r"top_k must be between 1 and 20, got 0 \(from --k\)"):
        load_settings(tmp_path / "none.toml", env={}, top_k=0)
    with pytest.raises(RagError, match=r"\(from --chunk-tokens\)"):
        load_settings(tmp_path / "none.toml", env={}, chunk_tokens=-1)


def test_a_bad_value_overridden_by_a_later_layer_is_no_error(tmp_path: Path) -> None:
    toml = tmp_path / "rag.toml"
    toml.write_text("top_k = 0\n")
    assert load_settings(toml, env={"RAG_TOP_K": "2"}).top_k == 2


@pytest.mark.parametrize(
    ("word", "value"),
    [("1", True), ("TRUE", True), ("Yes", True), (" on ", True)]
    + [("0", False), ("false", False), ("NO", False), ("Off", False)],
)
def test_booleans_accept_the_usual_words(tmp_path: Path, word: str, value: bool) -> None:
    assert load_settings(tmp_path / "none.toml", env={"RAG_VERIFY": word}).verify is value


def test_defaults_and_bounds_are_valid(tmp_path: Path) -> None:
    from rag.config import CHECKS
    from rag.retrieval import MODES
    from rag.verification import POLICIES

    assert set(CHECKS) <= set(Settings.__dataclass_fields__)
    load_settings(tmp_path / "none.toml", env={})  # the defaults pass their own checks
    edges = {"RAG_TOP_K": "20", "RAG_TEMPERATURE": "2", "RAG_MIN_SCORE": "-1", "RAG_N_THREADS": "0"}
    s = load_settings(tmp_path / "none.toml", env=edges)
    assert (s.top_k, s.temperature, s.min_score, s.n_threads) == (20, 2.0, -1.0, 0)
    # The choices are spelled out in config, which must not import those modules; keep in step.
    assert CHECKS["retrieval"][1] == "one of " + ", ".join(MODES)
    assert CHECKS["unsupported"][1] == "one of " + ", ".join(POLICIES)


def test_bad_flags_fail_before_anything_loads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rag.assistant import Assistant
    from rag.cli import main

    def no_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the assistant was built despite a bad setting")

    monkeypatch.setattr(Assistant, "from_settings", no_load)
    monkeypatch.chdir(Path(__file__).parent)  # no rag.toml here
    for k in ("0", "-1"):
        assert main(["ask", "--k", k, "What happened?"]) == 1
        assert "top_k must be between 1 and 20" in capsys.readouterr().err
    monkeypatch.setenv("RAG_UNSUPPORTED", "foo")
    assert main(["ask", "What happened?"]) == 1
    assert "(from RAG_UNSUPPORTED)" in capsys.readouterr().err
