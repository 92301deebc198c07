"""NHS number: 10 digits (any separators) passing the modulus-11 check digit."""

from __future__ import annotations

from reviewer.recognisers.base import PatternRecogniser, registry

_WEIGHTS = range(10, 1, -1)


def digits_of(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def valid_nhs_number(value: str) -> bool:
    digits = digits_of(value)
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], _WEIGHTS))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


registry.register(
    PatternRecogniser(
        name="nhs_number",
        kind="nhs_number",
        patterns=[
            (r"\b\d{3}[ .\-]?\d{3}[ .\-]?\d{4}\b", 0.7),  # the printed 3-3-4 form
            (r"\b\d(?:[ .\-/]{1,3}\d){9}\b", 0.6),  # "9 4 3 4 7 6 5 9 1 9", "943.476.5919"
            (r"\b\d{4}[ .\-]\d{3}[ .\-]\d{3}\b", 0.6),  # regrouped 4-3-3: "5432-319-489"
        ],
        context=["nhs", "nhs no", "nhs number", "nhsno", "nhs#", "chi"],
        context_window=30,
        validate=valid_nhs_number,
    )
)
