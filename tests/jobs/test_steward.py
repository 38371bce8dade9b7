"""`partnerkit check` on a starter workspace (clean) and on one with a mislabelled field."""

from __future__ import annotations

import json
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
