"""The three HTML reports: golden pages for fixed inputs, and partner data never becomes markup.

Regenerate the golden pages with:
PARTNERKIT_UPDATE_GOLDEN=1 python -m pytest tests/jobs/reports
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from governance.catalogs import build_governance
from governance.checks import Finding
from governance.policies import DatasetView
from jobs.reports.compare import compare_report_html
from jobs.reports.html import Markup, element, page, table
from jobs.reports.icp import icp_report_html
from jobs.reports.steward import steward_report_html
from schemas.models import PartnerSpec
from schemas.registry import PROFILE_SCHEMA, bundled_registry

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PARTNERKIT_UPDATE_GOLDEN") == "1"
HOSTILE = '<script>alert("x")</script>&"'  # a partner value no page may turn into markup


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; see the module docstring"


class Elements(HTMLParser):
    """The tags of a page, to check that data made none of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)


def tags(html: str) -> set[str]:
    parser = Elements()
    parser.feed(html)
    return set(parser.tags)


def icp_result(value: str = "Gold") -> dict:
    return {
        "partner": "acme",
        "segment": "loyal_gold",
        "members": 1200,
        "universe_size": 50000,
        "min_support": 0.1,
        "top_lift": [
            {
                "name": "loyalty_tier",
                "value": value,
                "count": 400,
                "rate": 0.33,
                "universe_rate": 0.1,
                "lift": 3.3,
                "cluster_hash": "ab" * 16,
            }
        ],
        "top_attributes": [
            {"name": "gender", "value": "F", "count": 700, "rate": 0.58, "lift": 1.1}
        ],
        "pairs": [
            {
                "a": f"loyalty_tier={value}",
                "b": "gender=F",
                "count": 300,
                "support": 0.25,
                "lift": 1.4,
                "confidence": 0.75,
            }
        ],
        "itemsets": [
            {"items": [f"loyalty_tier={value}", "gender=F", "homeowner=Yes"], "count": 150}
        ],
        "rules": [
            {
                "antecedent": ["gender=F"],
                "consequent": [f"loyalty_tier={value}"],
                "confidence": 0.43,
                "lift": 1.3,
                "support": 0.25,
            }
        ],
        "suggestions": {"precision": "ab" * 16, "reach": "cd" * 16},
    }


def compare_result(attribute: str = "household_income_range") -> dict:
    return {
        "by_pair": [
            {
                "provider_a": "acme",
                "provider_b": "beta",
                "agree": 1800,
                "disagree": 200,
                "compared": 2000,
                "agreement_rate": 0.9,
            }
        ],
        "by_attribute": [
            {
                "attribute": attribute,
                "comparable": True,
                "agree": 90,
                "disagree": 10,
                "not_comparable": 5,
                "agreement_rate": 0.9,
            },
            {
                "attribute": "gender",
                "comparable": False,
                "agree": 0,
                "disagree": 0,
                "not_comparable": 40,
                "agreement_rate": None,
            },
        ],
    }


def steward_page(message: str = "add the label 3PD") -> str:
    acme = PartnerSpec(name="acme", domains=("demographic",), labels=("3PD",))
    fields = bundled_registry().flatten(PROFILE_SCHEMA, [acme])[:6]
    datasets = {
        "seeds": DatasetView(labels=("C2",), fields={}),
        "partner/acme": DatasetView(labels=("3PD",), fields={}),
    }
    findings = [
        Finding(
            level="error",
            check="partner_field_without_3PD",
            where="_partner.acme.demographic.ageRange",
            message=message,
        ),
        Finding(
            level="warning", check="label_unused", where="C9", message="no enabled policy uses C9"
        ),
    ]
    return steward_report_html(
        build_governance(),
        fields,
        datasets,
        findings,
        ["profiles not built yet"],
        datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
    )


def test_icp_page_is_as_reviewed() -> None:
    golden("icp.html", icp_report_html(icp_result()))


def test_compare_page_is_as_reviewed() -> None:
    golden("compare.html", compare_report_html(compare_result()))


def test_steward_page_is_as_reviewed() -> None:
    golden("steward.html", steward_page())


@pytest.mark.parametrize(
    "build",
    [
        lambda: icp_report_html(icp_result(HOSTILE)),
        lambda: compare_report_html(compare_result(HOSTILE)),
        lambda: steward_page(HOSTILE),
    ],
    ids=["icp", "compare", "steward"],
)
def test_a_partner_value_never_becomes_markup(build) -> None:
    html = build()
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "script" not in tags(html)


def test_table_escapes_cells_and_keeps_only_markup_as_is() -> None:
    built = table(("a<b", "n"), [(HOSTILE, 1234), (element("code", HOSTILE), 0.5)])
    assert "<script" not in built
    assert '<td class="n">1,234</td>' in built and "<code>&lt;script&gt;" in built
    assert page("t", Markup("<p>ok</p>"), "<p>data</p>").count("<p>") == 1
