from rag.citations import MarkerFilter, answer_sentences, cite, normalise_markers
from rag.records import Chunk, Passage
from rag.text import is_refusal


def test_markers_are_normalised_and_unknown_numbers_dropped() -> None:
    assert normalise_markers("A [1, 2]. B [7]. C [2][3]", valid=2) == "A [1][2]. B . C [2]"


def test_marker_filter_gives_the_same_text_when_streamed() -> None:
    text = "Putin said no [1]. He also [1, 3] said [9] yes [2]."
    for size in (1, 2, 3, 5):
        f = MarkerFilter(valid=2)
        out = "".join(f.feed(text[i : i + size]) for i in range(0, len(text), size)) + f.flush()
        assert out == normalise_markers(text, 2)


def test_markers_after_the_full_stop_belong_to_the_sentence() -> None:
    pairs = list(answer_sentences("Iran did not ask. [2] The treaty is no pact [1][3]."))
    assert pairs == [("Iran did not ask.", [2]), ("The treaty is no pact.", [1, 3])]


def test_refusals() -> None:
    assert is_refusal("The articles don’t say.")
    assert is_refusal("This information is not mentioned in the passages.")
    assert not is_refusal("Putin said the treaty is not a defence pact [1].")


def test_quotes_are_exact_article_spans(seed_text: str) -> None:
    start = seed_text.index("Furthermore")
    chunk = Chunk("a:0", "a", seed_text[start - 200 : start + 300], start - 200, start + 300)
    passage = Passage(1, chunk, "Title", "seeds/a.txt", 0.9)
    [c] = cite(
        "He said the treaty is not a mutual defense agreement [1].", [passage], {"a": seed_text}
    )
    assert c.quote == seed_text[c.start : c.end]
    assert c.quote.startswith("Furthermore") and "mutual defense" in c.quote
    assert (c.n, c.title, c.source) == (1, "Title", "seeds/a.txt")


def test_echoed_prompt_text_is_stripped() -> None:
    from rag.prompting import strip_echo

    echoed = (
        "[1] (Russia Cautions U.S.) Putin said the treaty is no pact.\n"
        "Question: What did Putin say?\nAnswer: He spoke in St. Petersburg [1].\n"
        "Mayor Ana Ruiz ordered schools to close [2]. Source 2: Zakharova urged restraint."
    )
    assert strip_echo(echoed) == (
        "Putin said the treaty is no pact.\nHe spoke in St. Petersburg [1].\n"
        "Source 2: Zakharova urged restraint."
    )
    assert strip_echo("The articles don't say.") == "The articles don't say."


def test_a_marker_after_a_closing_quote_belongs_to_the_sentence() -> None:
    pairs = list(answer_sentences("Putin replied, «I don’t want to entertain it.» [1]"))
    assert pairs == [("Putin replied, «I don’t want to entertain it.»", [1])]
