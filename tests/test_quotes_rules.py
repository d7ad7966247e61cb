"""One fast test per attribution rule added for the misses of the dev and dev2 labels."""

from rag.quotemarks import quote_spans
from rag.quotes import extract_quotes
from rag.speakers import speaker_matches, strip_titles


def said(text: str) -> list[tuple[str, str]]:
    quotes = extract_quotes(text)
    for q in quotes:
        assert text[q.start : q.end] == q.text
    return [(q.speaker, q.text) for q in quotes]


def test_a_person_of_a_place_is_the_person() -> None:
    assert strip_titles("Rep. Jamaal Bowman of New York") == "Jamaal Bowman"
    # but a title of a place names the person after it
    assert strip_titles("Secretary of State Antony Blinken") == "Antony Blinken"
    assert strip_titles("Bank of England Governor Andrew Bailey") == "Andrew Bailey"
    text = (
        "Rep. Vern Buchanan of Florida may retire. But Buchanan disputed the notion.\n\n"
        "“It's ridiculous,” he told reporters."
    )
    assert said(text) == [("Vern Buchanan", "It's ridiculous")]


def test_who_after_a_name_and_its_apposition_is_that_person() -> None:
    text = (
        "“We need new rules,” said Rep. Matt Gaetz, a Republican from Florida who said he’s a "
        "“hard no” on McCarthy."
    )
    assert said(text) == [("Matt Gaetz", "We need new rules"), ("Matt Gaetz", "hard no")]


def test_the_department_and_it_are_the_organisation_named_before() -> None:
    text = (
        "The Justice Department charged him on Tuesday.\n\n"
        "“He lied to Congress,” the department said.\n\n"
        "The Trade Review Commission released its report.\n\n"
        "“China continued to blame the United States,” it said."
    )
    assert said(text) == [
        ("Justice Department", "He lied to Congress"),
        ("Trade Review Commission", "China continued to blame the United States"),
    ]


def test_it_with_no_organisation_before_names_no_one() -> None:
    assert said("The plan failed.\n\n“It was too late,” it said.") == []


def test_a_short_quote_in_the_apposition_is_read_through() -> None:
    text = (
        "“It will show our strength,” Rep. Bob Good, a Virginia Republican who is a “hard no” "
        "on McCarthy, told CNN. “I think the second ballot will be different.”"
    )
    got = said(text)
    assert ("Bob Good", "It will show our strength") in got
    # The acronym ends the sentence, and the next quote takes Good past the short one.
    assert ("Bob Good", "I think the second ballot will be different.") in got
    assert all(speaker != "CNN" for speaker, _ in got)  # "told CNN": CNN is the listener


def test_a_quote_that_ends_no_clause_takes_no_speaker_after_it() -> None:
    text = "Jane Doe leads the group. They claim “several” Republicans have privately told them."
    assert said(text) == []


def test_an_attribution_ending_the_sentence_after_a_comma() -> None:
    text = (
        "Canadian Prime Minister Justin Trudeau responded on Saturday.\n\n"
        "The action will have “real consequences” for the American people, said Trudeau."
    )
    assert said(text) == [("Justin Trudeau", "real consequences")]


def test_a_speech_verb_before_the_quote_keeps_the_later_clause_out() -> None:
    text = "Joe Biden called it “a disaster” for the party, Jane Doe said."
    assert ("Jane Doe", "a disaster") not in said(text)


def test_a_colon_after_the_subjects_clause_introduces_the_quote() -> None:
    text = (
        "As a faction threatens his ambitions, House GOP leader Kevin McCarthy delivered a "
        "promise: “I'll never leave.”"
    )
    assert said(text) == [("Kevin McCarthy", "I'll never leave.")]


def test_a_quote_sentence_after_a_sentence_takes_its_subject() -> None:
    text = (
        "Rep. David Joyce also said members have reached out to him, but he dismissed it. "
        "“At the end of the day, Kevin's going to be the new speaker.”"
    )
    assert said(text) == [
        ("David Joyce", "At the end of the day, Kevin's going to be the new speaker.")
    ]


def test_a_quote_before_its_sentences_attribution_shares_it() -> None:
    text = (
        "Japanese Prime Minister Fumio Kishida paid his “deepest condolences” to Abe, saying "
        "he “was a personal friend.”"
    )
    assert [s for s, _ in said(text)] == ["Fumio Kishida", "Fumio Kishida"]


def test_a_pronoun_after_the_verb_is_not_the_participles_subject() -> None:
    text = (
        "Rep. Hakeem Jeffries spoke first. Rep. Fred Upton said he has no plans to be in "
        "Washington that day, telling CNN: “I'll be skiing.”"
    )
    assert said(text) == [("Fred Upton", "I'll be skiing.")]


def test_mixed_straight_and_curly_marks_pair_up() -> None:
    text = '“China has also engaged with U.S. allies," it stated.'
    [span] = quote_spans(text)
    assert text[span.start : span.end] == "China has also engaged with U.S. allies"
    # a nested straight pair inside curly marks stays nested
    nested = '“He said "no" to us,” she said.'
    [outer] = quote_spans(nested)
    assert nested[outer.start : outer.end] == 'He said "no" to us'


# Rules added after heldout2's first measurement (found on it; it is a tuning set since).


def test_an_adjective_before_a_nationality_is_not_a_person() -> None:
    text = (
        "Imprisoned Iranian human rights activist Narges Mohammadi won the prize.\n\n"
        "“They will put me in jail again,” she wrote in the book."
    )
    assert said(text) == [("Narges Mohammadi", "They will put me in jail again")]


def test_more_words_describe_the_person_named_next() -> None:
    text = (
        "Griner's detention is still “tough on our team,” Phoenix Mercury head coach Vanessa "
        "Nygaard told reporters.\n\n"
        "Iranian state news agency Fars dismissed the prize, saying she had “received the prize "
        "from Westerners.”"
    )
    assert [s for s, _ in said(text)] == ["Vanessa Nygaard", "Fars"]


def test_an_abbreviation_and_a_two_part_apposition_before_the_verb() -> None:
    text = (
        "The Financial Times (FT) said that “wavering MPs were promised jobs”.\n\n"
        "“Our future depends on their success,” Oleksandra Matviichuck, the head of the Center "
        "for Civil Liberties, which won the prize last year, wrote on X."
    )
    assert [s for s, _ in said(text)] == ["Financial Times", "Oleksandra Matviichuck"]


def test_confirmed_and_reported_are_speech_verbs() -> None:
    text = "“Secretary Austin is recovering well,” Pat Ryder confirmed."
    assert said(text) == [("Pat Ryder", "Secretary Austin is recovering well")]
    text = "The Times reported that ministers expected him to “carry out a reshuffle”."
    assert said(text) == [("Times", "carry out a reshuffle")]


def test_and_joins_names_but_not_clauses() -> None:
    text = "The Times wrote “a reshuffle within days” and the Daily Mail said “plans could change.”"
    assert [s for s, _ in said(text)] == ["Times", "Daily Mail"]
    assert said("Joe Biden and Kamala Harris said “we are ready.”") == []


def test_a_name_after_of_is_not_the_one_speaking() -> None:
    assert said("An ally of the PM said those who offered “only tepid support” could go.") == []


def test_a_quote_after_a_possessive_is_a_title() -> None:
    text = "Antony Blinken told CNN's “State of the Union” on Sunday that it was a priority."
    assert said(text) == []


# Rules added after heldout3's first measurement (found on it; it is a tuning set since).


def test_a_person_of_an_organisation_is_the_person() -> None:
    assert strip_titles("Stephen Yale-Loehr of Cornell Law School") == "Stephen Yale-Loehr"
    assert strip_titles("the University of Michigan Hospital") == "University of Michigan Hospital"


def test_capitalised_words_after_a_describe_no_one() -> None:
    text = (
        "David Beckham continued in his role as a Qatar World Cup ambassador. Gianni Infantino "
        "spoke for an hour.\n\n"
        "“We are taught many lessons,” he said."
    )
    assert said(text) == [("Gianni Infantino", "We are taught many lessons")]


def test_a_heading_in_capitals_is_no_one() -> None:
    text = (
        "Delta Air Lines President Glen Hauenstein spoke on Tuesday.\n\n"
        "DREAD THE AIRPORT STARBUCKS LINE?:The line is longer than the TSA line.\n\n"
        '"We are very confident," he said.'
    )
    assert said(text) == [("Glen Hauenstein", "We are very confident")]


def test_title_case_quotes_are_titles() -> None:
    text = (
        'During his speech honoring his role in "The Brutalist," Adrien Brody thanked '
        '"my amazing partner" Georgina Chapman, saying she has "not only reinvigorated my '
        'self-worth."'
    )
    got = said(text)
    assert all(words != "The Brutalist" for _, words in got)
    # ", saying she has": the pronoun after the participle is what was said, not who said it
    assert ("Georgina Chapman", "my amazing partner") not in got


def test_lower_case_words_after_of_are_reported_words_not_a_title() -> None:
    text = (
        "In a statement, Anna Marsh said the droves of “wounded and sick children” needing "
        "“urgent care” moved her to act. She is the author of “The Long Winter”."
    )
    got = said(text)
    assert ("Anna Marsh", "wounded and sick children") in got
    assert ("Anna Marsh", "urgent care") in got
    assert all(words != "The Long Winter" for _, words in got)


def test_a_show_title_does_not_hide_the_attribution_before_it() -> None:
    text = "Earlier, Tom Berg told CNN’s “Amanpour” that his team were “forced” to stop."
    assert said(text) == [("Tom Berg", "forced")]


def test_one_attribution_after_the_quotes_covers_the_sentence() -> None:
    text = (
        "Lena Holt spoke at length. Seeing it through “a very modern lens” is “plainly "
        "irresponsible”, she said."
    )
    assert said(text) == [
        ("Lena Holt", "a very modern lens"),
        ("Lena Holt", "plainly irresponsible"),
    ]


def test_a_paragraph_of_quote_after_reported_speech_is_that_speakers() -> None:
    text = (
        "Maria Costa said she told her own family to do more than protest.\n\n"
        "“So many young people marched. What is the plan?”"
    )
    assert said(text) == [("Maria Costa", "So many young people marched. What is the plan?")]


def test_she_is_not_a_man_the_article_calls_he() -> None:
    text = (
        "Rep. Ann Lowry said that she has felt unsafe.\n\n"
        "Sen. Paul Drake said he would not comment.\n\n"
        "“It feels like static electricity around you,” she said."
    )
    assert said(text) == [("Ann Lowry", "It feels like static electricity around you")]


def test_the_party_member_is_the_person_named_before() -> None:
    text = (
        "Rep. Ann Lowry spoke on Sunday.\n\n"
        "“It is a very real danger,” the New York Democrat told reporters."
    )
    assert said(text) == [("Ann Lowry", "It is a very real danger")]


def test_a_listener_after_told_is_not_who_she_means() -> None:
    text = (
        "Rep. Ann Lowry spoke on Sunday.\n\n"
        "“It is real,” Lowry told CNN’s Chris Wallace.\n\n"
        "“It means you are never alone,” she said."
    )
    assert said(text) == [
        ("Ann Lowry", "It is real"),
        ("Ann Lowry", "It means you are never alone"),
    ]


def test_a_person_of_an_organisation_and_a_verb_without_a_comma() -> None:
    text = (
        "“The verdict is a late sign,” Karl Heub of the International Auschwitz Committee told "
        "CNN. Such images are a “PR machine for toxic masculinity” wrote Brad Slane at Red "
        "State, making up for a lack of “charisma”. He is denounced for his “hypermasculine "
        "performances”, as Alia Dast described them at USA Today."
    )
    assert said(text) == [
        ("Karl Heub", "The verdict is a late sign"),
        ("Brad Slane", "PR machine for toxic masculinity"),
        ("Brad Slane", "charisma"),
        ("Alia Dast", "hypermasculine performances"),
    ]


def test_a_pronoun_subject_ends_the_sentence_with_its_speaker() -> None:
    text = (
        "“A salamander regrows the limb,” said Dan Sinclare.\n\n"
        "That discovery shows there is a “backup copy” of youth in the body, he added."
    )
    assert said(text) == [
        ("Dan Sinclare", "A salamander regrows the limb"),
        ("Dan Sinclare", "backup copy"),
    ]


def test_an_attribution_after_three_quotes_reaches_the_first() -> None:
    text = (
        "The grant must be spent “by the royal household” and so “clearly” does not include "
        "“paying settlements”, said Craig Presley, a lecturer."
    )
    assert [who for who, _ in said(text)] == ["Craig Presley"] * 3


def test_a_name_ending_an_apposition_is_not_who_he_means() -> None:
    text = (
        "The crisis spells trouble, said Ganesh Wign, an associate at the think tank, ODI "
        "Global.\n\n"
        "“Sri Lanka is a messy democracy,” he said."
    )
    assert said(text) == [("Ganesh Wign", "Sri Lanka is a messy democracy")]
    # but a name a speech verb introduces at the end of a sentence still is
    text = (
        "Demand is strong, according to finance chief Tara Romm.\n\n“We are encouraged,” she said."
    )
    assert said(text) == [("Tara Romm", "We are encouraged")]


def test_an_acronym_names_the_organisation() -> None:
    assert speaker_matches("FDA", "Food and Drug Administration")
    assert speaker_matches("Food and Drug Administration", "the FDA")
    # an acronym from before the words added later with "and", either way round
    assert speaker_matches("CDC", "Centers for Disease Control and Prevention")
    assert speaker_matches("Centers for Disease Control and Prevention", "the CDC")
    assert not speaker_matches("CD", "Centers for Disease Control and Prevention")
    # people are not matched by their initials
    assert not speaker_matches("JDV", "John David Vance")
    assert not speaker_matches("John David Vance", "JDV")


def test_words_relayed_by_someone_are_the_speakers() -> None:
    text = 'Tom Drake also said, "I do not care about it," according to Ann Hutch.'
    assert said(text) == [("Tom Drake", "I do not care about it")]


def test_who_after_a_listener_is_not_the_listener() -> None:
    text = "“They pushed for everything,” one lawmaker told CNN, who lamented the year."
    assert said(text) == []


def test_a_caption_in_capitals_is_no_one() -> None:
    text = (
        "MUST WATCH Ex-aide testifies on Tuesday.\n\n"
        "Two days earlier, he told her that “things might get bad.”"
    )
    assert said(text) == []


def test_what_someone_calls_a_thing_is_the_thing_not_their_words() -> None:
    text = "On Thursday, Xi Jinping called the “one country, two systems” a “good system.”"
    assert said(text) == [("Xi Jinping", "good system.")]


def test_a_description_before_the_name_and_more_speech_verbs() -> None:
    text = (
        "“If all the professors are white, that worries me,” said UD grad Carl Sudd.\n\n"
        "“We are thrilled,” said commissioner Rob Manfeld in a statement.\n\n"
        "Lou Gehrson said goodbye in 1939, when he proclaimed he was “the luckiest man.”"
    )
    assert said(text) == [
        ("Carl Sudd", "If all the professors are white, that worries me"),
        ("Rob Manfeld", "We are thrilled"),
        ("Lou Gehrson", "the luckiest man."),
    ]


def test_a_someone_is_no_one() -> None:
    assert said("A Labour MP has demanded “assurances” that money will not be used.") == []


def test_asked_after_a_quote_is_the_speaker_and_in_a_sentence_the_listener() -> None:
    text = (
        "“Why now?” asked Tom Berg.\n\n"
        "The senator asked Ann Lowry about the bill.\n\n"
        "“It is late,” he said."
    )
    got = said(text)
    assert ("Tom Berg", "Why now?") in got
    assert ("Ann Lowry", "It is late") not in got  # she was asked, she did not answer


def test_a_lone_surname_is_the_person_with_that_surname() -> None:
    text = (
        "Students like Jasmine Anton welcome it. Anton Carnell, a researcher, agreed.\n\n"
        "“I am speaking for all of us,” said Anton."
    )
    assert said(text) == [("Jasmine Anton", "I am speaking for all of us")]


def test_a_name_given_in_full_only_before_a_possessive_is_the_full_name() -> None:
    text = (
        "The gym began in Jade Jenny's garage.\n\n"
        "“There was nothing when we started out here,” said Jenny, 28."
    )
    assert said(text) == [("Jade Jenny", "There was nothing when we started out here")]


def test_a_hyphenated_title_is_a_title() -> None:
    assert strip_titles("WHO Director-General Tedros Adhanom Ghebreyesus") == (
        "Tedros Adhanom Ghebreyesus"
    )
    assert strip_titles("Karine Jean-Pierre") == "Karine Jean-Pierre"


def test_the_league_is_the_league_named_before() -> None:
    text = (
        "The American Hockey League suspended play on Thursday.\n\n"
        "“We will continue to monitor developments,” the league announced."
    )
    assert said(text) == [("American Hockey League", "We will continue to monitor developments")]


def test_a_curly_quote_closed_by_a_straight_mark_is_one_quote() -> None:
    text = (
        '“I certainly don’t endorse that language," Mike Lawler said on CNN. '
        "He said voters are “tired of looking backwards” now."
    )
    assert said(text)[0] == ("Mike Lawler", "I certainly don’t endorse that language")


def test_descriptions_with_possessives_and_places_come_before_the_name() -> None:
    text = "“Our coach dragged me into it,” said UVM women's soccer coach Kristi Lef of it."
    assert said(text) == [("Kristi Lef", "Our coach dragged me into it")]
    text = "“At that point you didn’t cross Lee,” explains South Carolina-born chef Lee Grey."
    assert said(text) == [("Lee Grey", "At that point you didn’t cross Lee")]


def test_a_role_word_before_a_noun_describes_no_one() -> None:
    text = (
        "Mitch McConnell held a fundraiser.\n\n"
        "“If you want to be a kingmaker, you have to elect your kings,” said the Republican "
        "operative.\n\n"
        "“It will be close,” the senator also said."
    )
    assert said(text) == [("Mitch McConnell", "It will be close")]


def test_according_to_at_a_sentence_start_names_who_he_is() -> None:
    text = (
        "The World Cup needs many workers.\n\n"
        "According to Andrew Zimb, though, these jobs may make it harder later.\n\n"
        "“Most of the jobs will be built on debt,” he said."
    )
    assert said(text) == [("Andrew Zimb", "Most of the jobs will be built on debt")]


def test_he_in_a_transcript_turn_is_not_the_turn_speaker() -> None:
    text = (
        "[29:12] Jon Bide: At some point I want to respond.\n\n"
        "[29:15] Bide: When last time he said what he paid, he said, "
        "‘I only pay that little because I am smart.’ Come on, folks."
    )
    assert said(text) == []
    text = "Jon Bide spoke.\n\nBide: When I met Xi, he said ‘we are setting up zones in the sea.’"
    assert said(text) == []
    # a question and answer is no transcript turn
    text = (
        "Gov. Greta Whit spoke on Monday.\n\n"
        "Q: Why did the governor act? “It is a public health crisis,” she said."
    )
    assert said(text) == [("Greta Whit", "It is a public health crisis")]
