"""One question end to end in real headless Chromium: type it, watch the answer stream in, and
check that a [n] marker links to its source with the quote highlighted.

Uses Debian's chromium (`apt-get install chromium`; .ci/run installs it), never a downloaded
browser. A missing chromium fails the test; RAG_SKIP_BROWSER=1 skips it on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.test_chat_api import chat_server

pytestmark = pytest.mark.integration

QUESTION = "What did Zakharova urge Washington to do?"
CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (CI runs as root), no GPU, and nothing that phones home from an offline machine.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ANSWER_TIMEOUT_MS = 300_000  # the first answer also evaluates the prompt's fixed examples


def test_a_question_in_the_browser_gets_a_cited_answer_with_its_quote_highlighted(
    tmp_path: Path,
) -> None:
    if os.environ.get("RAG_SKIP_BROWSER") == "1":
        pytest.skip("RAG_SKIP_BROWSER=1")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or RAG_SKIP_BROWSER=1)")
    from playwright.sync_api import expect, sync_playwright

    # The tiny test model answers this question with a citation (it refuses the treaty one
    # since the prompt shows two refusals); a refusal would show no citation to click.
    with chat_server(tmp_path, RAG_TOP_K="5") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            box = page.locator("#rag-question textarea")
            box.fill(QUESTION)
            box.press("Enter")
            expect(page.locator("#rag-chat")).to_contain_text(QUESTION)
            # The cost line is added only when the answer is final.
            page.locator("#rag-chat .rag-cost").wait_for(timeout=ANSWER_TIMEOUT_MS)
            answer = page.locator("#rag-chat .rag-answer").last.inner_text()
            cites = page.locator("#rag-chat a.rag-cite")
            assert cites.count() > 0, f"the answer cites nothing: {answer!r}"
            cite = cites.first
            expect(cite).to_be_visible()
            href, hover = cite.get_attribute("href"), cite.get_attribute("title") or ""
            assert href is not None and href.startswith("#src-")
            mark = page.locator(f"#rag-sources {href} mark").first
            expect(mark).to_be_visible()
            quote = mark.inner_text().strip()
            assert quote and " ".join(quote.split()) in " ".join(hover.split())
            expect(page.locator(f"#rag-sources {href}")).to_contain_text("paragraph ")
            page.screenshot(path=str(tmp_path / "chat.png"))
            assert (tmp_path / "chat.png").stat().st_size > 10_000

            page.locator("#rag-new").click()
            expect(page.locator("#rag-chat a.rag-cite")).to_have_count(0)
            expect(page.locator("#rag-sources mark")).to_have_count(0)
            assert dialogs == []
        finally:
            browser.close()
