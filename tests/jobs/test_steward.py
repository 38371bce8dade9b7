"""`partnerkit check` on a starter workspace (clean) and on one with a mislabelled field."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from jobs.cli.app import run_cli
from jobs.cli.exit_codes import EXIT_STEWARD_CHECK
from jobs.config import write_starter_workspace
from schemas.registry import XDM_BASE
from tests.conftest import EditConfig


def test_check_on_the_starter_workspace_is_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_starter_workspace(tmp_path, force=False)
    assert run_cli(["check", "--workspace", str(tmp_path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["counts"]["findings"] == []
    report = Path(document["outputs"]["report"])
    html = report.read_text(encoding="utf-8")
    assert "No findings" in html and "acme_contract" in html and "partner/acme" in html


def test_check_catches_an_email_field_without_i1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit_config: EditConfig
) -> None:
    write_starter_workspace(tmp_path, force=False)
    base = "https://example.com/brand/"
    folder = tmp_path / "schemas"
    (folder / "field_groups").mkdir(parents=True)
    (folder / "field_groups" / "contact.schema.json").write_text(
        json.dumps(
            {
                "$id": f"{base}field_groups/contact.schema.json",
                "title": "Contact",
                "description": "d",
                "type": "object",
                "properties": {
                    "workEmail": {
                        "title": "Work email",
                        "description": "d",
                        "type": "string",
                        "meta:identity": "email",
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    (folder / "brand_profile.schema.json").write_text(
        json.dumps(
            {
                "$id": f"{base}brand_profile.schema.json",
                "title": "Brand profile",
                "description": "d",
                "allOf": [
                    {"$ref": f"{XDM_BASE}schemas/enriched_profile.schema.json"},
                    {"$ref": f"{base}field_groups/contact.schema.json"},
                ],
            }
        ),
        encoding="utf-8",
    )
    edit_config(
        tmp_path,
        lambda data: data.update(schemas={"profile": "brand_profile", "folders": ["schemas"]}),
    )

    assert run_cli(["check", "--workspace", str(tmp_path), "--json"]) == EXIT_STEWARD_CHECK
    findings = json.loads(capsys.readouterr().out)["counts"]["findings"]
    assert [(f["level"], f["check"], f["where"]) for f in findings] == [
        ("error", "identity_field_without_I1", "workEmail")
    ]


def test_check_reports_segments_and_destinations_reading_unknown_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit_config: EditConfig
) -> None:
    """Case: a segment reading a field the profile lacks and a destination exporting one were
    found only when an activation ran; `check` reported no error. Each is an error naming its
    key path, and the command in the message runs as printed."""

    def unknown_fields(data: dict) -> None:
        data["segments"][1]["predicate"] = "loyalty.level = 'Gold'"
        data["destinations"][0]["attributes"] = ["loyalty.tier", "loyalty.points"]

    edit_config(tmp_path, unknown_fields)
    assert run_cli(["check", "--workspace", str(tmp_path), "--json"]) == EXIT_STEWARD_CHECK
    findings = json.loads(capsys.readouterr().out)["counts"]["findings"]
    found = {(f["check"], f["where"]): f["message"] for f in findings if f["level"] == "error"}
    assert "loyalty.level" in found["segment_predicate", "segments[1].predicate"]
    message = found["destination_fields", "destinations[0]"]
    assert message.startswith("loyalty.points: not profile fields")
    command = message.split("`")[1]
    assert run_cli(shlex.split(command)[1:]) == 0


def test_check_warns_where_an_ad_platform_destination_lacks_its_protection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit_config: EditConfig
) -> None:
    def unprotected(data: dict) -> None:
        (meta,) = [d for d in data["destinations"] if d["name"] == "meta_ads"]
        meta["restricted_audiences"] = "off"
        data["destinations"].append(
            {
                "name": "google_ads",
                "path": "exports/google_ads",
                "format": "google_customer_match",
                "marketing_actions": ["crossSiteTargeting"],
            }
        )

    workspace = edit_config(tmp_path, unprotected)
    assert run_cli(["check", "--workspace", str(tmp_path), "--json"]) == 0  # warnings only
    findings = json.loads(capsys.readouterr().out)["counts"]["findings"]
    numbers = {d.name: n for n, d in enumerate(workspace.config.destinations)}
    warned = {f["where"]: f["message"] for f in findings if f["check"] == "platform_protection"}
    assert warned[f"destinations[{numbers['meta_ads']}]"].startswith("restricted_audiences is off")
    assert "ad_user_data and ad_personalization" in warned[f"destinations[{numbers['google_ads']}]"]
