from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.normalise import normalise


def test_ascii_is_identity():
    view = normalise("Saw Mrs Patel in bed 4")
    assert view.text == view.original
    assert view.span(4, 13) == (4, 13)


def test_cyrillic_homoglyph_maps_to_latin_and_back():
    original = "Saw Mrs P\u0430tel on W\u0430rd 9"  # Cyrillic а twice
    view = normalise(original)
    assert "Patel" in view.text and "Ward 9" in view.text
    s = view.text.index("Ward 9")
    start, end = view.span(s, s + len("Ward 9"))
    assert original[start:end] == "W\u0430rd 9"


def test_zero_width_and_bidi_removed_offsets_kept():
    original = "Mrs Pa\u200btel \u202eon ward"
    view = normalise(original)
    assert "Mrs Patel on ward" in view.text
    s = view.text.index("Patel")
    start, end = view.span(s, s + 5)
    assert original[start:end] == "Pa\u200btel"


def test_nfkc_fullwidth_digits_and_typographic_quotes():
    view = normalise("bed \uff14 at St Mary\u2019s")
    assert view.text == "bed 4 at St Mary's"
    s = view.text.index("4")
    assert view.span(s, s + 1) == (4, 5)


def test_letter_spaced_words_collapse():
    original = "N H S n o 943 476 5919"
    view = normalise(original)
    assert view.text.startswith("NHSno")
    assert view.span(0, 3) == (0, 5)  # "N H S" in the original


def test_collapse_composes_with_unicode_mapping():
    original = "\u039d H S no"  # Greek capital Nu looks like N
    view = normalise(original)
    assert view.text.startswith("NHS")
    assert view.span(0, 1) == (0, 1)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_span_always_inside_original(text):
    view = normalise(text)
    for i in range(len(view.text) + 1):
        for j in (i, min(len(view.text), i + 3)):
            start, end = view.span(i, j) if j > i else view.span(i, i)
            assert 0 <= start <= end <= len(text)
