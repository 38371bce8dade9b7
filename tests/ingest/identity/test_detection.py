"""Hash detection: what a sample of a column really holds, against what was declared."""

from __future__ import annotations

import hashlib

import pytest

from ingest.errors import HashMismatchError
from ingest.identity.detection import classify_value, detect_form, require_declared_forms

SHA256 = hashlib.sha256(b"jane@example.com").hexdigest()


@pytest.mark.parametrize(
    ("value", "form"),
    [
        ("5d41402abc4b2a76b9719d911017c592", "md5"),  # seed 000's md5 example
        (hashlib.sha1(b"x").hexdigest(), "sha1"),
        (SHA256, "sha256"),
        (SHA256.upper(), "sha256"),
        ("0x" + SHA256, "sha256"),
        ("ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=", "sha256_base64"),
        ("jane@example.com", "plaintext_email"),
        ("+1 (201) 555-0100", "plaintext_phone"),
        ("hello world", "unrecognized"),
    ],
)
def test_classify_value_recognizes_forms(value: str, form: str) -> None:
    assert classify_value(value) == form


def test_detect_form_needs_agreement() -> None:
    assert detect_form([SHA256] * 99 + ["oops"]) == "sha256"
    assert detect_form([SHA256] * 50 + ["a@example.com"] * 50) == "mixed"
    assert detect_form([]) == "empty"


def test_require_declared_forms_names_file_column_and_both_forms() -> None:
    samples = {"email1": [SHA256] * 10, "phone1": ["5d41402abc4b2a76b9719d911017c592"] * 10}
    declared = {"email1": ("email", "sha256", "hex"), "phone1": ("phone", "sha256", "hex")}
    with pytest.raises(HashMismatchError) as caught:
        require_declared_forms(samples, declared, file="s3://drops/acme/universe.csv.gz")
    message = str(caught.value)
    assert "s3://drops/acme/universe.csv.gz" in message and "'phone1'" in message
    assert "declared sha256" in message and "look like md5" in message
    assert "5d41402abc4b2a76b9719d911017c592" not in message


def test_require_declared_forms_accepts_base64_and_plaintext() -> None:
    samples = {
        "e": ["ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8="] * 3,
        "m": ["jane@example.com"] * 3,
    }
    found = require_declared_forms(
        samples, {"e": ("email", "sha256", "base64"), "m": ("email", "plaintext", "hex")}, file="f"
    )
    assert found == {"e": "sha256_base64", "m": "plaintext_email"}
