from messages.search.query import parse_query


def test_urls_are_text_not_operators():
    parsed = parse_query("see https://example.com/x")
    assert parsed.operators == []
    assert [t.text for t in parsed.terms] == ["see", "https://example.com/x"]


def test_parser_reads_phrases_negations_and_or():
    parsed = parse_query('a "b c" -d OR e -label:"x y" from:"Al B"')
    assert [[(t.text, t.phrase, t.negated) for t in g] for g in parsed.groups] == [
        [("a", False, False), ("b c", True, False), ("d", False, True)],
        [("e", False, False)],
    ]
    assert [(o.name, o.value, o.negated) for o in parsed.operators] == [
        ("label", "x y", True),
        ("from", "Al B", False),
    ]
