"""Boilerplate lines: the known furniture goes, news sentences that mention it stay."""

import pytest

from rag.boilerplate import is_boilerplate, strip


@pytest.mark.parametrize(
    "line",
    [
        "How relevant is this ad to you?",
        "Video player was slow to load content Video content never loaded Ad froze or did not "
        "finish loading Video content did not start after ad Audio on ad was too loud Other issues",
        "Advertisement",
        "Share this article",
        "Copy link",
        "Read More",
        "Sign up for our newsletter",
        "Get CNN Health's weekly newsletter Sign up here to get The Results Are In with Dr. "
        "Sanjay Gupta every Tuesday from the CNN Health team.",
        '(You can get "5 Things You Need to Know Today" delivered to your inbox daily. Sign up here .)',
        "We use cookies to improve your experience on our site.",
        "Accept all cookies",
        "JavaScript is not available.",
        "More:Russia's Victory Day on May 9 could mark key deadline in its invasion of Ukraine",
        "RELATED: Battered White House searches for a Biden comeback scenario",
        "Video Ad Feedback Hear protesters in China call for Xi Jinping's resignation 02:05 - Source: CNN",
        "Support local journalism. Subscribe to azcentral.com today.",
        "THE NEWS COMES TO YOU: Get updates on the situation in Ukraine. Sign up here.",
        "24/7 Wall Street is a USA TODAY content partner offering financial news and commentary.",
    ],
)
def test_known_boilerplate_lines_are_recognised(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        # Real sentences from RealTime QA articles that mention ads, sign-ups, sharing, cookies.
        "The Agency of Human Services will host a webinar on Monday, July 20, to explain the grant "
        "application process, eligibility requirements and the documents providers should plan "
        "to submit when applying for a grant. Sign up here to receive an email when the "
        "application is open.",
        "Tom Noie: John: That's best-case scenario, which everyone would sign up for right now.",
        "People who already have a library card do not have to sign up for the digital card.",
        "Lopez opened up about the details of the proposal in another issue of her newsletter.",
        "Newsom now is going on the air against DeSantis in Florida with a new ad.",
        "“I’m a scared cookie,” Greenebaum said.",
        "Even with the shortages, champagne continues to hold 63% of market share.",
        "The company said it would share more details next week.",
        "More than 40,000 people filed for unemployment last week in Kentucky.",
        "Watch fireworks starting at approximately 9:30 p.m. in Port Austin.",
        "",
    ],
)
def test_news_sentences_are_kept(line: str) -> None:
    assert not is_boilerplate(line)


def test_strip_drops_whole_lines_and_keeps_paragraph_breaks() -> None:
    text = (
        "Title\n\nThe council met on Sunday.\n\nAdvertisement\n\nIt agreed a budget.\n"
        "Share this article\nCopy link\n\nWork starts in May."
    )
    assert strip(text) == (
        "Title\n\nThe council met on Sunday.\n\nIt agreed a budget.\n\nWork starts in May."
    )
    clean = "No furniture here.\n\nJust news."
    assert strip(clean) is clean
