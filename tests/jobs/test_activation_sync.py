"""Incremental activation: adds and removes since the last export, the fall-backs to a full
refresh, and nothing written when nothing changed."""

from __future__ import annotations

import copy
import csv
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from pyspark.sql import SparkSession

from jobs import activate
from jobs.config import Workspace
from jobs.workspace_schema import profile_fields
from schemas.registry import to_struct_type
from tests.conftest import Cli, EditConfig, commit_table
from tests.jobs.test_activate import PROFILES, sha256

CRM = {
    "name": "crm_sync",
    "type": "file",
    "path": "exports/crm_sync",
    "format": "csv",
    "identities": ["CRMID"],
    "attributes": ["loyalty.tier", "loyalty.lifetimeValue"],
    "marketing_actions": ["onsitePersonalization"],
    "consent_field": "consents.marketing.email.val",
    "sync": "incremental",
}
META = {
    "name": "meta_sync",
    "type": "file",
    "path": "exports/meta_sync",
    "format": "meta_custom_audience",
    "marketing_actions": ["crossSiteTargeting"],
    "consent_field": "consents.marketing.email.val",
    "sync": "incremental",
}


def commit_profiles(workspace: Workspace, spark: SparkSession, profiles: list[dict]) -> None:
    struct = to_struct_type(profile_fields(workspace))
    lines = spark.sparkContext.parallelize([json.dumps(p) for p in profiles])
    commit_table(workspace, spark.read.schema(struct).json(lines), "profiles")


@pytest.fixture
def workspace(spark: SparkSession, tmp_path: Path, edit_config: EditConfig) -> Workspace:
    """The four test profiles; `crm_sync` (csv) and `meta_sync` sync incrementally, and
    `crm_full` is `crm_sync` exporting the whole audience every time."""

    def destinations(data: dict) -> None:
        full = {**CRM, "name": "crm_full", "path": "exports/crm_full", "sync": "full"}
        data["destinations"] += [CRM, META, full]

    loaded = edit_config(tmp_path, destinations)
    commit_profiles(loaded, spark, PROFILES)
    return loaded


def churned() -> list[dict[str, Any]]:
    """C1 leaves the Gold tier, C2 now consents, C4's lifetime value changes, C5 joins."""
    profiles = copy.deepcopy(PROFILES)
    by_id = {p["profileId"]: p for p in profiles}
    by_id["C1"]["loyalty"]["tier"] = "Silver"
    by_id["C2"]["consents"]["marketing"]["email"]["val"] = "y"
    by_id["C4"]["loyalty"]["lifetimeValue"] = 99.5
    profiles.append(
        {
            "profileId": "C5",
            "loyalty": {"tier": "Gold"},
            "personalEmail": {"address": "c5@example.com"},
            "consents": {"marketing": {"email": {"val": "y"}}},
            "identityMap": {"CRMID": [{"id": "C5"}]},
        }
    )
    return profiles


def manifest_of(result: Any) -> dict[str, Any]:
    return json.loads(Path(result.counts["manifest"]).read_text(encoding="utf-8"))


def exported(result: Any, key: str = "files") -> list[dict[str, str]]:
    manifest_path = Path(result.counts["manifest"])
    rows: list[dict[str, str]] = []
    for entry in manifest_of(result).get(key, []):
        with (manifest_path.parent / entry["name"]).open(encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def applied(held: dict[str, dict[str, str]], rows: list[dict[str, str]]) -> None:
    """A destination applying an operation file keyed by profile: removes, then upserts."""
    for row in rows:
        if row["operation"] == "remove":
            held.pop(row["profileId"], None)
    for row in rows:
        if row["operation"] == "add":
            held[row["profileId"]] = {k: v for k, v in row.items() if k != "operation"}


def test_an_incremental_destination_receives_the_adds_and_removes_since_its_last_export(
    spark: SparkSession, workspace: Workspace
) -> None:
    first = activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    sync = first.counts["sync"]
    assert sync["mode"] == "full" and "no earlier export" in sync["full_because"]
    assert (sync["adds"], sync["removes"]) == (2, 0)  # C1 and C4; C2 has not consented
    assert manifest_of(first)["sync"] == sync
    held: dict[str, dict[str, str]] = {}
    applied(held, exported(first))
    assert set(held) == {"C1", "C4"}

    again = activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    assert again.counts["sync"]["mode"] == "incremental"
    assert (again.counts["sync"]["adds"], again.counts["sync"]["removes"]) == (0, 0)
    assert again.counts["exported_rows"] == 0 and "manifest" not in again.counts
    assert len(list((workspace.root / "exports/crm_sync/loyal_gold").iterdir())) == 1

    commit_profiles(workspace, spark, churned())
    changed = activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    sync = changed.counts["sync"]
    assert sync["mode"] == "incremental" and sync["full_because"] is None
    assert sync["previous_export"] == manifest_of(first)["export_id"]
    rows = exported(changed)
    assert sorted((r["operation"], r["profileId"]) for r in rows) == [
        ("add", "C2"),
        ("add", "C4"),
        ("add", "C5"),
        ("remove", "C1"),
    ]
    assert next(r for r in rows if r["profileId"] == "C1")["loyalty.tier"] == "Gold"  # as sent
    applied(held, rows)
    full = activate.run(workspace, spark, segment="loyal_gold", destination="crm_full")
    assert "sync" not in manifest_of(full)
    assert held == {r["profileId"]: r for r in exported(full)}


def test_an_ad_platform_destination_removes_the_old_hashes_of_a_changed_member(
    spark: SparkSession, workspace: Workspace
) -> None:
    activate.run(workspace, spark, segment="loyal_gold", destination="meta_sync")
    profiles = copy.deepcopy(PROFILES)
    profiles[3]["personalEmail"]["address"] = "new.address@example.com"  # C4
    profiles[0]["loyalty"]["tier"] = "Silver"  # C1 leaves
    commit_profiles(workspace, spark, profiles)
    result = activate.run(workspace, spark, segment="loyal_gold", destination="meta_sync")
    assert (result.counts["sync"]["adds"], result.counts["sync"]["removes"]) == (1, 2)
    assert result.counts["audience_rows"] == 1 and result.counts["without_identifiers"] == 0
    assert [r["email"] for r in exported(result)] == [sha256("new.address@example.com")]
    assert sorted(r["email"] for r in exported(result, "remove_files")) == sorted(
        [sha256("john.doe@googlemail.com"), sha256("john.doe+spam@gmail.com")]
    )
    names = [f["name"] for f in manifest_of(result)["remove_files"]]
    assert names == ["remove-00000.csv"]
    assert not [r for r in exported(result) if "operation" in r]


def test_a_full_refresh_is_sent_when_the_last_export_is_gone_old_or_differently_shaped(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    first = activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    shutil.rmtree(Path(first.counts["manifest"]).parent)
    gone = activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    assert gone.counts["sync"]["full_because"] == (
        "the last export's manifest is no longer at the destination"
    )
    assert gone.counts["sync"]["adds"] == 2

    def reshape(data: dict) -> None:
        data["destinations"][-3]["attributes"] = ["loyalty.tier"]

    reshaped = activate.run(
        edit_config(workspace.root, reshape), spark, segment="loyal_gold", destination="crm_sync"
    )
    assert "layout, exported fields or location changed" in reshaped.counts["sync"]["full_because"]

    def short_window(data: dict) -> None:
        data["destinations"][-3]["full_refresh_days"] = 1e-9

    aged = activate.run(
        edit_config(workspace.root, short_window),
        spark,
        segment="loyal_gold",
        destination="crm_sync",
    )
    assert "days old (full_refresh_days: 1e-09)" in aged.counts["sync"]["full_because"]
    assert {r["operation"] for r in exported(aged)} == {"add"} and len(exported(aged)) == 2


def test_policy_is_evaluated_on_every_incremental_export(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    activate.run(workspace, spark, segment="high_earning_homeowners", destination="crm_sync")

    def export_partner_field(data: dict) -> None:
        data["destinations"][-3]["marketing_actions"] = ["exportToThirdParty"]

    blocked = activate.run(
        edit_config(workspace.root, export_partner_field),
        spark,
        segment="high_earning_homeowners",
        destination="crm_sync",
    )
    assert blocked.counts["allowed"] is False and "sync" not in blocked.counts


def test_an_incremental_s3_destination_checks_its_last_manifest_over_s3(
    spark: SparkSession, workspace: Workspace, s3_endpoint: str, edit_config: EditConfig
) -> None:
    boto3.client("s3").create_bucket(Bucket="act-sync")

    def to_s3(data: dict) -> None:
        data["destinations"][-3].update(type="s3", path="s3://act-sync/out")

    loaded = edit_config(workspace.root, to_s3)
    first = activate.run(loaded, spark, segment="loyal_gold", destination="crm_sync")
    assert first.counts["manifest"].startswith("s3://act-sync/out/loyal_gold/")
    commit_profiles(loaded, spark, churned())
    second = activate.run(loaded, spark, segment="loyal_gold", destination="crm_sync")
    assert second.counts["sync"]["mode"] == "incremental"
    assert (second.counts["sync"]["adds"], second.counts["sync"]["removes"]) == (3, 1)
    client = boto3.client("s3")
    client.delete_object(Bucket="act-sync", Key=second.counts["manifest"].split("/", 3)[3])
    commit_profiles(loaded, spark, PROFILES)
    third = activate.run(loaded, spark, segment="loyal_gold", destination="crm_sync")
    assert "no longer at the destination" in third.counts["sync"]["full_because"]


def test_an_export_published_by_a_run_that_then_died_is_followed_by_a_full_refresh(
    spark: SparkSession, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state is committed after the files are out; between the two the destination holds
    rows the state does not. A member that export added and that then left the audience
    would never be removed by a diff against the older state."""
    activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    commit_profiles(workspace, spark, churned())  # C2 and C5 join

    def die_after_publishing(point: str) -> None:
        if point == "export_published":
            raise RuntimeError("killed")

    monkeypatch.setattr(activate, "fault_point", die_after_publishing)
    with pytest.raises(RuntimeError):
        activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    monkeypatch.undo()
    profiles = churned()
    profiles[1]["consents"]["marketing"]["email"]["val"] = "n"  # C2 withdraws consent
    commit_profiles(workspace, spark, profiles)
    result = activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    assert (
        "was published by a run that ended before recording it"
        in (result.counts["sync"]["full_because"])
    )
    assert sorted(r["profileId"] for r in exported(result)) == ["C4", "C5"]


def test_the_cli_says_what_an_incremental_export_sent(
    spark: SparkSession, workspace: Workspace, cli: Cli
) -> None:
    args = ["--workspace", str(workspace.root), "--segment", "loyal_gold"]
    first = cli("activate", *args, "--destination", "crm_sync")
    assert first.code == 0
    assert "full refresh, 2 rows: no earlier export of this audience" in first.stderr
    commit_profiles(workspace, spark, churned())
    second = cli("activate", *args, "--destination", "crm_sync")
    assert "3 adds, 1 removes since export" in second.stderr
    third = cli("activate", *args, "--destination", "crm_sync", "--json").json()
    assert third["counts"]["sync"]["adds"] == third["counts"]["exported_rows"] == 0
    listed = cli("activations", "--workspace", str(workspace.root), "--json").json()
    table = cli("activations", "--workspace", str(workspace.root)).stderr
    # Printed whole off a terminal, not cut at 80 columns.
    assert "nothing changed since export" in table and "…" not in table
    assert listed["activations"][1]["outcome"]["manifest"] in table
    cut = cli("activations", "--workspace", str(workspace.root), "--limit", "2")
    assert (
        "Showing the first 2 activations; there are more: run the same command with "
        "`--limit 20` to see up to 20." in cut.stderr
    )
    assert listed["more"] is False
    assert [a["outcome"]["sync"]["mode"] for a in listed["activations"]] == [
        "incremental",
        "incremental",
        "full",
    ]


def test_a_member_suppressed_after_an_export_leaves_an_incremental_destination_as_a_removal(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    first = activate.run(workspace, spark, segment="loyal_gold", destination="crm_sync")
    assert {r["profileId"] for r in exported(first)} == {"C1", "C4"}
    listing = workspace.root / "data" / "optouts.csv"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("customer_id\nC4\n")
    source = {"path": "data/optouts.csv"}
    entry = {"name": "brand", "source": source, "email": None, "profile_id": "customer_id"}
    loaded = edit_config(workspace.root, lambda c: c.update(suppression=[entry]))
    later = activate.run(loaded, spark, segment="loyal_gold", destination="crm_sync")
    assert later.counts["suppressed"] == 1 and later.counts["sync"]["mode"] == "incremental"
    assert [(r["operation"], r["profileId"]) for r in exported(later)] == [("remove", "C4")]
