"""Data protection's pure rules: the forms of a number, who a person is in text, scrubbing text and JSON."""

from __future__ import annotations

from tvoxcc.journey.privacy import ERASED, identity, mentions, pattern, phone_forms, scrub


def test_a_number_in_every_form_a_store_or_log_writes_it() -> None:
    assert phone_forms("+390212345678") == {"+390212345678", "390212345678", "0212345678"}
    assert phone_forms("+442079460018") == {"+442079460018", "442079460018", "02079460018"}


def test_identity_leaves_out_names_that_are_only_addresses_and_short_needles() -> None:
    who = identity({1, 2}, ["+390212345678"], ["Carla@Bianchi.it"], ["Carla Bianchi", "CARLA@bianchi.it", " ", "Al"])
    assert who.emails == {"carla@bianchi.it"} and who.names == {"Carla Bianchi", "Al"}
    assert "Al" not in who.needles()  # two letters would scrub everybody's text
    assert who.needles()[0] == "carla@bianchi.it" and "Carla Bianchi" not in who.needles(with_names=False)


def test_scrub_text_and_json_case_insensitively() -> None:
    who = identity({1}, ["+390212345678"], ["carla@bianchi.it"], ["Carla Bianchi"])
    found = pattern(who.needles())
    assert found is not None
    text = "From CARLA BIANCHI <Carla@Bianchi.it>, call 0212345678 or +390212345678; Bruno 0298765432"
    assert scrub(text, found) == f"From {ERASED} <{ERASED}>, call {ERASED} or {ERASED}; Bruno 0298765432"
    data = {"caller": "+390212345678", "list": ["x", {"carla@bianchi.it": 1}], "n": 3}
    assert mentions(data, found) and scrub(data, found) == {"caller": ERASED, "list": ["x", {ERASED: 1}], "n": 3}
    assert not mentions(scrub(data, found), found) and pattern([]) is None
