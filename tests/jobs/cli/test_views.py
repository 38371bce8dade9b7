"""Renderings people read: the profile card (golden file) and the coverage table."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from jobs.cli.views import coverage_table, profile_view
from schemas.models import PartnerSpec
from schemas.namespaces import bundled_namespaces
from schemas.registry import PROFILE_SCHEMA, bundled_registry

GOLDEN = Path(__file__).parent / "golden"
# Regenerate with: PARTNERKIT_UPDATE_GOLDEN=1 pytest tests/jobs/test_views.py
UPDATE = os.environ.get("PARTNERKIT_UPDATE_GOLDEN") == "1"

RECORD = {
    "profileId": "C000000015",
    "identityMap": {
        "CRMID": [{"id": "C000000015", "authenticatedState": "authenticated", "primary": False}],
        "Email": [{"id": "ann@example.com", "authenticatedState": "ambiguous", "primary": True}],
        "acmePersonId": [{"id": "P0042", "authenticatedState": "ambiguous", "primary": False}],
    },
    "person": {"name": {"firstName": "Ann"}},
    "personalEmail": {"address": "Ann@Example.com"},
    "loyalty": {"tier": "Gold", "lifetimeValue": 120.5, "joinDate": "2020-02-03"},
    "_partner": {
        "acme": {
            "provenance": {
                "partner": "acme",
                "batchId": "20260101T000000-abcd",
                "overallScore": 0.99,
                "matchedOn": ["email_sha256", "phone_sha256"],
                "ingestedAt": "2026-01-01T00:00:00",
                "expiresAt": "2027-01-01T00:00:00",
            },
            "demographic": {"ageRange": "25-34"},
            "financial": {"recentMortgage": "Yes"},
        }
    },
}


def render(renderable: object) -> str:
    console = Console(record=True, width=110, color_system=None, file=open(os.devnull, "w"))
    console.print(renderable)
    return console.export_text()


def test_profile_view_matches_golden_file() -> None:
    spec = PartnerSpec(name="acme", domains=("demographic", "financial"), labels=("3PD", "C9"))
    fields = bundled_registry().flatten(PROFILE_SCHEMA, [spec])
    namespaces = bundled_namespaces().with_partners([("acme", "acmePersonId")])
    text = render(profile_view(RECORD, fields, namespaces))
    golden = GOLDEN / "profile_card.txt"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    assert "no (partner ID, activation only)" in text
    assert "3PD C9" in text  # the partner attribute's labels, inherited


def test_coverage_table_shows_shares_per_partner_and_domain() -> None:
    coverage = {
        "profiles": 4,
        "acme": {"enriched": 3, "with_partner_id": 2, "domains": {"demographic": 1}},
    }
    text = render(coverage_table(coverage))
    assert "75.0%" in text and "demographic" in text and "25.0%" in text
