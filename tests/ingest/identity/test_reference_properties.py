"""Properties of the pure-Python rules, checked with hypothesis (no JVM)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingest.identity import reference
from ingest.identity.profiles import PhoneRule, load_profiles

EMAIL_PROFILES = [p for p in load_profiles().values() if p.email]
local_parts = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789._+-", min_size=1, max_size=20
)
domains = st.sampled_from(["gmail.com", "googlemail.com", "example.com", "Example.ORG", "x.co.uk"])
emails = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
padding = st.text(alphabet=" \t\u00a0", max_size=3)


@given(email=emails, profile=st.sampled_from(EMAIL_PROFILES))
def test_normalize_email_is_idempotent(email: str, profile) -> None:
    first = reference.normalize_email(email, profile.email)
    if first.value is not None:
        assert reference.normalize_email(first.value, profile.email) == first


@given(email=emails, left=padding, right=padding, profile=st.sampled_from(EMAIL_PROFILES))
def test_normalize_email_ignores_surrounding_whitespace(email, left, right, profile) -> None:
    assert reference.normalize_email(left + email + right, profile.email) == (
        reference.normalize_email(email, profile.email)
    )


@given(email=emails, profile=st.sampled_from(EMAIL_PROFILES))
def test_normalize_email_output_is_lowercase_without_whitespace(email: str, profile) -> None:
    value = reference.normalize_email(email.upper(), profile.email).value
    if value is not None:
        assert value == value.lower() and " " not in value


area = st.sampled_from(["201", "212", "415", "617", "718"])
exchange = st.integers(min_value=200, max_value=999).map(str)
line = st.integers(min_value=0, max_value=9999).map(lambda n: f"{n:04d}")
layouts = st.sampled_from(
    [
        "+1 ({a}) {b}-{c}",
        "{a}.{b}.{c}",
        "1{a}{b}{c}",
        "({a}) {b} {c}",
        "{a}-{b}-{c}",
        "+1{a}{b}{c}",
        "\t{a} {b} {c} ",
    ]
)


@given(a=area, b=exchange, c=line, layout=layouts)
def test_normalize_phone_ignores_layout_for_us_numbers(a, b, c, layout) -> None:
    written = layout.format(a=a, b=b, c=c)
    for rule, expected in (("e164_plus", f"+1{a}{b}{c}"), ("national", f"{a}{b}{c}")):
        result = reference.normalize_phone(
            written, PhoneRule(format=rule), country=None, default_country="US"
        )
        assert result.value == expected, written


@given(digits=st.text(alphabet="0123456789", min_size=0, max_size=4))
def test_normalize_phone_rejects_short_numbers_with_a_reason(digits: str) -> None:
    result = reference.normalize_phone(
        digits, PhoneRule(format="e164_plus"), country="US", default_country=None
    )
    assert result.value is None and result.reason in {"empty", "phone_too_short"}
