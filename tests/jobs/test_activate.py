"""Activation end to end on a small profiles table: blocked, allowed (local and S3), consent,
ad-platform layouts, atomicity and continuous enforcement."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from pyspark.sql import SparkSession

from ingest.errors import MissingColumnsError
from ingest.ledger import Ledger
from jobs import activate, segments
from jobs.cli.exit_codes import EXIT_POLICY_BLOCKED
from jobs.config import Workspace, load_workspace
from jobs.errors import ConfigError
from jobs.workspace_schema import profile_fields
from schemas.registry import to_struct_type
from tests.conftest import Cli, EditConfig, commit_table
from tests.ingest.audiences.test_consent import tc_string

# TC strings consenting to purposes 1, 3 and 4, and to purpose 1 only.
TC_1_3_4 = tc_string({1, 3, 4})
TC_1 = tc_string({1})
PARTNER = {"provenance": {"partner": "acme", "expiresAt": "2100-01-01T00:00:00"}}
# Emails and phones from the identity case table (tests/ingest/identity/cases.py), whose
# normalized forms follow Meta's and Google's published rules.
PROFILES = [
    {
        "profileId": "C1",
        "loyalty": {"tier": "Gold", "joinDate": "2024-01-15", "lifetimeValue": -120.5},
        "personalEmail": {"address": " John.Doe+Spam@Gmail.com "},
        "mobilePhone": {"number": "(201) 555-0100"},
        "person": {"name": {"firstName": " Mary-Kate ", "lastName": "O'Brien"}},
        "homeAddress": {"countryCode": "US", "postalCode": "94105-1234"},
        "consents": {"marketing": {"email": {"val": "y"}}, "tcf": {"tcString": TC_1_3_4}},
        "identityMap": {"CRMID": [{"id": "C1"}], "acmePersonId": [{"id": "P1"}]},
        "_partner": {
            "acme": {
                **PARTNER,
                "financial": {"householdNetWorthRange": "$1M+"},
                "lifestyle": {"isHomeOwner": "Yes"},
            }
        },
    },
    {
        "profileId": "C2",
        "loyalty": {"tier": "Gold"},
        "personalEmail": {"address": "c2@example.com"},
        "consents": {"marketing": {"email": {"val": "n"}}},
        "identityMap": {"CRMID": [{"id": "C2"}]},
    },
    {
        "profileId": "C3",
        "loyalty": {"tier": "Silver"},
        "identityMap": {"CRMID": [{"id": "C3"}], "acmePersonId": [{"id": "P3"}]},
        "_partner": {
            "acme": {
                **PARTNER,
                "financial": {"householdNetWorthRange": "$500K-$1M"},
                "lifestyle": {"isHomeOwner": "Yes"},
            }
        },
    },
    {
        "profileId": "C4",
        "loyalty": {"tier": "Gold"},
        "personalEmail": {"address": "John.Doe@GoogleMail.com"},
        "consents": {
            "marketing": {"email": {"val": "y"}, "sms": {"val": "y"}},
            "tcf": {"tcString": TC_1},
        },
        "identityMap": {"CRMID": [{"id": "C4"}]},
    },
]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def workspace(spark: SparkSession, tmp_path: Path, edit_config: EditConfig) -> Workspace:
    """A starter workspace (its segments and destinations) with a four-profile table."""

    def local_destinations(data: dict) -> None:
        data["destinations"].append(
            {
                "name": "google_ads",
                "type": "file",
                "path": "exports/google_ads",
                "format": "google_customer_match",
                "marketing_actions": ["crossSiteTargeting"],
                "consent_field": "consents.marketing.email.val",
            }
        )

    loaded = edit_config(tmp_path, local_destinations)
    struct = to_struct_type(profile_fields(loaded))
    lines = spark.sparkContext.parallelize([json.dumps(p) for p in PROFILES])
    frame = spark.read.schema(struct).json(lines)
    commit_table(loaded, frame, "profiles")
    return loaded


def test_blocked_activation_writes_nothing_and_explains_the_chain(
    spark: SparkSession, workspace: Workspace
) -> None:
    result = activate.run(
        workspace, spark, segment="high_earning_homeowners", destination="data_broker"
    )
    counts = result.counts
    assert counts["allowed"] is False
    assert any(
        chain.startswith(
            "policy no_third_party_resale (No resale of third-party data) "
            "-> condition 3PD -> action exportToThirdParty -> label 3PD"
        )
        and chain.endswith("-> segment high_earning_homeowners -> destination data_broker")
        for chain in counts["chains"]
    )
    assert (
        "stop exporting _partner.acme.financial.householdNetWorthRange to destination "
        "data_broker" in counts["remedies"]
    )
    assert not (workspace.root / "exports" / "data_broker").exists()
    (run,) = Ledger(workspace.ledger_path).runs(job="activate")
    (event,) = Ledger(workspace.ledger_path).events(run.workflow_id)
    assert event["kind"] == "activation_decision" and event["payload"]["allowed"] is False


def test_allowed_activation_to_s3_splits_files_and_writes_the_manifest_last(
    spark: SparkSession, workspace: Workspace, s3_endpoint: str, edit_config: EditConfig
) -> None:
    boto3.client("s3").create_bucket(Bucket="act-allowed")
    loaded = edit_config(
        workspace.root,
        lambda d: d["destinations"][0].update(path="s3://act-allowed/out", max_rows_per_file=1),
    )
    result = activate.run(
        loaded, spark, segment="high_earning_homeowners", destination="web_personalization"
    )
    assert result.counts["allowed"] and result.counts["members"] == 2
    assert (result.counts["files"], result.counts["exported_rows"]) == (2, 2)
    client = boto3.client("s3")
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="act-allowed")["Contents"])
    assert not [k for k in keys if "_staging" in k]
    (manifest_key,) = [k for k in keys if k.endswith("manifest.json")]
    manifest = json.loads(client.get_object(Bucket="act-allowed", Key=manifest_key)["Body"].read())
    folder = manifest_key.rsplit("/", 1)[0]
    for entry in manifest["files"]:
        body = client.get_object(Bucket="act-allowed", Key=f"{folder}/{entry['name']}")["Body"]
        assert hashlib.sha256(body.read()).hexdigest() == entry["sha256"]
    assert manifest["rows"] == 2 and manifest["segment"] == "high_earning_homeowners"
    assert manifest["labels"]["dataset partner/acme"] == ["3PD", "acme_contract"]
    assert (
        "restrict_onsite_personalization" in manifest["policies_evaluated"]["onsitePersonalization"]
    )


def read_export(manifest: Path) -> list[dict[str, str]]:
    rows = []
    for entry in json.loads(manifest.read_text(encoding="utf-8"))["files"]:
        with (manifest.parent / entry["name"]).open(encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def test_meta_layout_exports_consenting_members_hashed_by_the_meta_rules(
    spark: SparkSession, workspace: Workspace
) -> None:
    result = activate.run(workspace, spark, segment="loyal_gold", destination="meta_ads")
    counts = result.counts
    assert (counts["members"], counts["without_consent"], counts["exported_rows"]) == (3, 1, 2)
    rows = read_export(Path(counts["manifest"]))
    assert set(rows[0]) == {"email", "phone"}
    assert {r["email"] for r in rows} == {
        sha256("john.doe+spam@gmail.com"),
        sha256("john.doe@googlemail.com"),
    }
    assert {r["phone"] for r in rows} == {sha256("12015550100"), ""}


def with_minimum(name: str, minimum: int) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        (destination,) = [d for d in config["destinations"] if d["name"] == name]
        destination["min_audience_size"] = minimum

    return change


def test_an_audience_below_the_destinations_minimum_is_refused_and_nothing_written(
    workspace: Workspace, cli: Cli, edit_config: EditConfig
) -> None:
    """loyal_gold has 3 members, 2 with consent: a minimum of 3 refuses it (exit 3)."""
    edit_config(workspace.root, with_minimum("meta_ads", 3))
    args = ("--workspace", str(workspace.root), "--segment", "loyal_gold")
    refused = cli("activate", *args, "--destination", "meta_ads")
    assert refused.code == EXIT_POLICY_BLOCKED, refused.stderr
    printed = " ".join(refused.stderr.split())
    assert "BLOCKED" in printed and "fewer than destination meta_ads's min_audience_size of 3" in (
        printed.replace("│ ", "")
    )
    assert not (workspace.root / "exports" / "meta_ads").exists()
    page = Path(
        cli("activate", *args, "--destination", "meta_ads", "--json").json()["outputs"][
            "decision_page"
        ]
    ).read_text(encoding="utf-8")
    assert "loyal_gold -&gt; meta_ads: BLOCKED" in page and "<h2>Refused</h2>" in page
    edit_config(workspace.root, with_minimum("meta_ads", 2))
    allowed = cli("activate", *args, "--destination", "meta_ads", "--json")
    assert allowed.code == 0, allowed.stderr
    assert allowed.json()["counts"]["exported_rows"] == 2


def test_the_workspace_minimum_applies_where_a_destination_sets_none(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    """privacy.min_audience_size refuses loyal_gold's 2 consenting members at meta_ads; a
    destination's own minimum wins over it."""

    def workspace_minimum(config: dict) -> None:
        config.setdefault("privacy", {})["min_audience_size"] = 3

    loaded = edit_config(workspace.root, workspace_minimum)
    refused = activate.run(loaded, spark, segment="loyal_gold", destination="meta_ads")
    assert refused.counts["allowed"] is False
    assert refused.counts["refused"].endswith("the workspace's privacy.min_audience_size of 3")
    loaded = edit_config(workspace.root, with_minimum("meta_ads", 2))
    allowed = activate.run(loaded, spark, segment="loyal_gold", destination="meta_ads")
    assert allowed.counts["allowed"] is True and allowed.counts["exported_rows"] == 2


def test_a_destination_requires_the_consent_of_each_marketing_action(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    """meta_ads (crossSiteTargeting) also needs SMS consent: of loyal_gold's two members who
    consented to email, only C4 gave it; the field is a consent item of the lineage."""

    def sms_for_ads(config: dict) -> None:
        (meta,) = [d for d in config["destinations"] if d["name"] == "meta_ads"]
        meta["consent_by_action"] = {"crossSiteTargeting": "consents.marketing.sms.val"}

    loaded = edit_config(workspace.root, sms_for_ads)
    counts = activate.run(loaded, spark, segment="loyal_gold", destination="meta_ads").counts
    assert (counts["members"], counts["without_consent"], counts["exported_rows"]) == (3, 2, 1)
    decision = activate.decide(loaded, "loyal_gold", "meta_ads")[0]
    consent = [i.field for i in decision.lineage if i.role == "consent"]
    assert "consents.marketing.sms.val" in consent

    def misspelt(config: dict) -> None:
        (meta,) = [d for d in config["destinations"] if d["name"] == "meta_ads"]
        meta["consent_by_action"] = {"emailTargetting": "consents.marketing.email.val"}

    with pytest.raises(ConfigError, match="consent_by_action names emailTargetting"):
        edit_config(workspace.root, misspelt)


def test_a_prospect_audience_below_the_minimum_is_refused(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    save_prospects(spark, workspace, "owners")  # three partner persons
    loaded = edit_config(workspace.root, with_minimum("partner_id_audience", 4))
    result = activate.run_prospects(
        loaded, spark, prospects="owners", destination="partner_id_audience"
    )
    assert result.counts["allowed"] is False and "manifest" not in result.counts
    assert result.counts["refused"].startswith("the audience has 3 members")


FINANCIAL_FIELD = "_partner.acme.financial.householdNetWorthRange"


def test_a_segment_on_financial_fields_is_refused_at_a_meta_audience_with_the_chain(
    spark: SparkSession, workspace: Workspace
) -> None:
    result = activate.run(
        workspace, spark, segment="high_earning_homeowners", destination="meta_ads"
    )
    assert result.counts["allowed"] is False and "manifest" not in result.counts
    (chain,) = [c for c in result.counts["chains"] if "Meta restricts" in c]
    assert chain.startswith(
        f"field {FINANCIAL_FIELD} (sensitive: _partner.*.financial.*) -> dataset partner/acme "
        "-> segment high_earning_homeowners -> destination meta_ads: Meta restricts"
    )
    assert "set restricted_audiences: warn on destination meta_ads" in " ".join(
        result.counts["remedies"]
    )
    assert not (workspace.root / "exports" / "meta_ads").exists()


def test_restricted_audiences_warn_exports_and_says_why_and_off_says_nothing(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    def meta_mode(mode: str) -> Callable[[dict], None]:
        def change(config: dict) -> None:
            (meta,) = [d for d in config["destinations"] if d["name"] == "meta_ads"]
            meta["restricted_audiences"] = mode

        return change

    warned = activate.run(
        edit_config(workspace.root, meta_mode("warn")),
        spark,
        segment="high_earning_homeowners",
        destination="meta_ads",
    )
    assert warned.counts["allowed"] and warned.counts["exported_rows"] >= 1
    assert [w.split(" (")[0] for w in warned.counts["warnings"]] == [f"field {FINANCIAL_FIELD}"]
    quiet = activate.run(
        edit_config(workspace.root, meta_mode("off")),
        spark,
        segment="high_earning_homeowners",
        destination="meta_ads",
    )
    assert quiet.counts["allowed"] and quiet.counts["warnings"] == []


def test_sensitive_fields_are_the_workspaces_to_set(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    def nothing_sensitive(config: dict) -> None:
        config.setdefault("governance", {})["sensitive_fields"] = []

    result = activate.run(
        edit_config(workspace.root, nothing_sensitive),
        spark,
        segment="high_earning_homeowners",
        destination="meta_ads",
    )
    assert result.counts["allowed"] and result.counts["warnings"] == []


def test_a_suppression_list_keeps_the_people_it_names_out_of_every_export(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    """loyal_gold: C1 (consent y, john.doe+spam@gmail.com, (201) 555-0100), C2 (consent n),
    C4 (consent y, John.Doe@GoogleMail.com). Lists are read at each export, keyed by ndc."""
    folder = workspace.root / "data" / "suppression"
    folder.mkdir(parents=True)
    (folder / "ids.csv").write_text("customer_id\nC4\n")
    (folder / "emails.csv").write_text("email\n  JOHN.DOE@googlemail.com \n")
    (folder / "phones.csv").write_text(f"phone_sha256\n{sha256('2015550100').upper()}\n")

    def listing(name: str, **columns: object) -> dict:
        source = {"path": f"data/suppression/{name}.csv"}
        return {"name": name, "source": source, "email": None, **columns}

    by_id = listing("ids", profile_id="customer_id")
    loaded = edit_config(workspace.root, lambda c: c.update(suppression=[by_id]))
    counts = activate.run(loaded, spark, segment="loyal_gold", destination="meta_ads").counts
    figures = ("members", "suppressed", "without_consent", "exported_rows")
    assert tuple(counts[k] for k in figures) == (3, 1, 1, 1)
    (row,) = read_export(Path(counts["manifest"]))
    assert row["email"] == sha256("john.doe+spam@gmail.com")  # C1's, never C4's
    events = (workspace.root / "logs" / "openlineage.jsonl").read_text().splitlines()
    (completed,) = [e for e in map(json.loads, events) if e["eventType"] == "COMPLETE"][-1:]
    assert str(folder / "ids.csv") in {i["name"] for i in completed["inputs"]}

    def dry_run(*lists: dict) -> tuple[int, int]:
        changed = edit_config(workspace.root, lambda c: c.update(suppression=list(lists)))
        run = activate.run(
            changed, spark, segment="loyal_gold", destination="meta_ads", dry_run=True
        )
        return run.counts["suppressed"], run.counts["without_consent"]

    # one Gmail mailbox under the ndc rules (dots, +tag, googlemail.com): C1 and C4 both
    assert dry_run(listing("emails", email="email")) == (2, 1)
    # C1's phone, as the SHA-256 of its ndc form (national digits), upper-case hex
    assert dry_run(by_id, listing("phones", phone="phone_sha256", hashed=True)) == (2, 1)


def test_a_suppression_list_without_its_column_names_the_file(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    listing = workspace.root / "data" / "optouts.csv"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("mail\nx@example.com\n")
    loaded = edit_config(
        workspace.root,
        lambda c: c.update(suppression=[{"name": "brand", "source": {"path": "data/optouts.csv"}}]),
    )
    with pytest.raises(MissingColumnsError, match="optouts.csv.*email"):
        activate.run(loaded, spark, segment="loyal_gold", destination="meta_ads")


def test_google_layout_uses_the_google_rules_and_headers(
    spark: SparkSession, workspace: Workspace
) -> None:
    result = activate.run(workspace, spark, segment="loyal_gold", destination="google_ads")
    rows = read_export(Path(result.counts["manifest"]))
    assert set(rows[0]) == {"Email", "Phone"}
    assert {r["Phone"] for r in rows} == {sha256("+12015550100"), ""}
    # Google's Data Manager formatter removes Gmail dots, googlemail.com included.
    assert sha256("johndoe@googlemail.com") in {r["Email"] for r in rows}


def google_signals(required: list[str]) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        (google,) = [d for d in config["destinations"] if d["name"] == "google_ads"]
        google["consent_signals"] = {
            "ad_user_data": "consents.marketing.email.val",
            "ad_personalization": "consents.marketing.sms.val",
        }
        google["require_consent_signals"] = required

    return change


def test_google_consent_signals_go_with_each_member_and_can_be_required(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    """loyal_gold: C1 (email y, no sms), C2 (email n), C4 (email y, sms y)."""
    sent = activate.run(
        edit_config(workspace.root, google_signals([])),
        spark,
        segment="loyal_gold",
        destination="google_ads",
    )
    rows = read_export(Path(sent.counts["manifest"]))
    assert set(rows[0]) == {"Email", "Phone", "ad_user_data", "ad_personalization"}
    assert sorted((r["ad_user_data"], r["ad_personalization"]) for r in rows) == [
        ("GRANTED", "GRANTED"),
        ("GRANTED", "UNSPECIFIED"),
    ]
    required = activate.run(
        edit_config(workspace.root, google_signals(["ad_user_data", "ad_personalization"])),
        spark,
        segment="loyal_gold",
        destination="google_ads",
    )
    counts = required.counts
    assert (counts["members"], counts["without_consent"], counts["exported_rows"]) == (3, 2, 1)
    fields = {
        (i.field, i.role)
        for i in activate.decide(load_workspace(workspace.root), "loyal_gold", "google_ads")[
            0
        ].lineage
    }
    assert ("consents.marketing.sms.val", "export") in fields


def test_a_tcf_requirement_exports_only_members_whose_tc_string_consents(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    """loyal_gold with email consent: C1 (TCF purposes 1, 3, 4) and C4 (purpose 1 only)."""

    def purposes_1_3_4(config: dict) -> None:
        (google,) = [d for d in config["destinations"] if d["name"] == "google_ads"]
        google["tcf"] = {"purposes": [1, 3, 4]}

    loaded = edit_config(workspace.root, purposes_1_3_4)
    counts = activate.run(loaded, spark, segment="loyal_gold", destination="google_ads").counts
    assert (counts["members"], counts["without_consent"], counts["exported_rows"]) == (3, 2, 1)
    lineage = activate.decide(loaded, "loyal_gold", "google_ads")[0].lineage
    assert ("consents.tcf.tcString", "consent") in {(i.field, i.role) for i in lineage}


def test_consent_signals_belong_to_the_google_layout_and_must_be_mapped(
    workspace: Workspace, edit_config: EditConfig
) -> None:
    def on_meta(config: dict) -> None:
        (meta,) = [d for d in config["destinations"] if d["name"] == "meta_ads"]
        meta["consent_signals"] = {"ad_user_data": "consents.marketing.email.val"}

    with pytest.raises(ConfigError, match="google_customer_match layout only"):
        edit_config(workspace.root, on_meta)

    def unmapped(config: dict) -> None:
        (google,) = [d for d in config["destinations"] if d["name"] == "google_ads"]
        google["require_consent_signals"] = ["ad_personalization"]

    with pytest.raises(ConfigError, match="require_consent_signals names ad_personalization"):
        edit_config(workspace.root, unmapped)


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        # Meta hashes every key: names keep A-Z only, the ZIP+4 is cut at the dash.
        (
            "meta_ads",
            {
                "fn": sha256("marykate"),
                "ln": sha256("obrien"),
                "zip": sha256("94105"),
                "country": sha256("us"),
            },
        ),
        # Google hashes names, and takes country and postal code as written.
        (
            "google_ads",
            {
                "First Name": sha256("mary-kate"),
                "Last Name": sha256("o'brien"),
                "Zip": "94105-1234",
                "Country": "US",
            },
        ),
    ],
)
def test_a_destination_can_ask_for_names_postal_code_and_country(
    spark: SparkSession,
    workspace: Workspace,
    edit_config: EditConfig,
    destination: str,
    expected: dict[str, str],
) -> None:
    keys = ["email", "phone", "first_name", "last_name", "postal_code", "country"]

    def all_keys(data: dict) -> None:
        (target,) = [d for d in data["destinations"] if d["name"] == destination]
        target["match_keys"] = keys

    loaded = edit_config(workspace.root, all_keys)
    result = activate.run(loaded, spark, segment="loyal_gold", destination=destination)
    rows = read_export(Path(result.counts["manifest"]))
    assert len(rows) == result.counts["exported_rows"] == 2
    assert all(len(row) == len(keys) for row in rows)
    phone = "phone" if destination == "meta_ads" else "Phone"
    (c1,) = [row for row in rows if row[phone]]  # C1, the only member with a phone
    assert {column: c1[column] for column in expected} == expected


def test_the_match_keys_a_destination_asks_for_enter_its_lineage(
    workspace: Workspace, edit_config: EditConfig
) -> None:
    """Names and postal codes exported to an ad platform are read data: their labels count."""

    def with_names(data: dict) -> None:
        (meta,) = [d for d in data["destinations"] if d["name"] == "meta_ads"]
        meta["match_keys"] = ["email", "first_name", "postal_code"]

    def exported(loaded: Workspace) -> set[str]:
        decision, _, _ = activate.decide(loaded, "loyal_gold", "meta_ads")
        return {item.field for item in decision.lineage if item.role == "export"}

    before = exported(workspace)
    after = exported(edit_config(workspace.root, with_names))
    assert "person.name.firstName" not in before and "mobilePhone.number" in before
    assert after - before == {"person.name.firstName", "homeAddress.postalCode"}
    assert "mobilePhone.number" not in after


def test_a_failed_local_export_removes_its_staging_and_publishes_nothing(
    spark: SparkSession, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt("killed before publishing")

    monkeypatch.setattr(activate, "publish_local", die)
    with pytest.raises(KeyboardInterrupt):
        activate.run(workspace, spark, segment="loyal_gold", destination="meta_ads")
    folder = workspace.root / "exports" / "meta_ads"
    assert list(folder.iterdir()) == []  # the plaintext staging went with the run


def test_a_failed_s3_export_deletes_its_uploaded_objects(
    spark: SparkSession,
    workspace: Workspace,
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    edit_config: EditConfig,
) -> None:
    boto3.client("s3").create_bucket(Bucket="act-killed")
    loaded = edit_config(
        workspace.root, lambda d: d["destinations"][0].update(path="s3://act-killed/out")
    )

    class DiesOnCopy:
        def __init__(self) -> None:
            self.client = boto3.client("s3")

        def __getattr__(self, name: str) -> object:
            return getattr(self.client, name)

        def copy(self, *_args: object, **_kwargs: object) -> None:
            raise KeyboardInterrupt("killed while publishing")

    monkeypatch.setattr("jobs.warehouse.delivery.s3_client", DiesOnCopy)
    with pytest.raises(KeyboardInterrupt):
        activate.run(
            loaded, spark, segment="high_earning_homeowners", destination="web_personalization"
        )
    listed = boto3.client("s3").list_objects_v2(Bucket="act-killed").get("Contents", [])
    assert [o["Key"] for o in listed] == []  # staging and copied files, no manifest: gone


def test_policy_change_blocks_a_previously_allowed_activation_and_says_what_changed(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    allowed = activate.run(
        workspace,
        spark,
        segment="high_earning_homeowners",
        destination="web_personalization",
        dry_run=True,
    )
    assert allowed.counts["allowed"] and allowed.counts["members"] == 2

    def no_3pd_onsite(data: dict) -> None:
        data["governance"]["policies"].append(
            {
                "id": "no_3pd_onsite",
                "name": "No partner data onsite",
                "marketing_actions": ["onsitePersonalization"],
                "deny": {"label": "3PD"},
            }
        )

    changed = edit_config(workspace.root, no_3pd_onsite)
    blocked = activate.run(
        changed, spark, segment="high_earning_homeowners", destination="web_personalization"
    )
    assert blocked.counts["allowed"] is False
    since = blocked.counts["changed_since_allowed"]
    assert since["workflow_id"] == allowed.workflow_id
    assert since["changes"] == ["policy no_3pd_onsite added"]


def test_segments_job_counts_members_and_rejects_a_bad_predicate(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    result = segments.run(workspace, spark)
    assert result.counts["high_earning_homeowners"]["members"] == 2
    assert result.counts["loyal_gold"] == {"members": 3, "fields": ["loyalty.tier"]}
    bad = edit_config(
        workspace.root,
        lambda d: d["segments"][1].update(predicate="loyalty.tier = 'Gold' OR 1 IN (SELECT 1)"),
    )
    from governance.errors import SegmentError

    with pytest.raises(SegmentError, match="segment loyal_gold predicate: position 31"):
        segments.run(bad, spark, name="loyal_gold")


# Every function and operator the predicate allow-list names, run by Spark on the profiles.
ALLOWED_IN_SPARK = {
    "lower(loyalty.tier) = 'gold'": 3,
    "upper(loyalty.tier) = 'SILVER'": 1,
    "trim(loyalty.tier) LIKE 'G%'": 3,
    "length(loyalty.tier) = 6": 1,
    "coalesce(mobilePhone.number, 'none') = 'none'": 3,
    "abs(loyalty.lifetimeValue) > 100": 1,
    "year(loyalty.joinDate) = 2024 AND month(loyalty.joinDate) = 1": 1,
    "datediff(current_date(), loyalty.joinDate) > 30": 1,
    "loyalty.joinDate BETWEEN '2024-01-01' AND current_date()": 1,
    "personalEmail.address ILIKE '%@gmail.com%' OR NOT (loyalty.tier IN ('Gold'))": 2,
    "loyalty.lifetimeValue IS NULL AND -1 < 0": 3,
}


def test_every_allowed_function_runs_in_spark(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    """Case 4: year, month and datediff were documented and always refused."""

    def one_segment_each(data: dict) -> None:
        data["segments"] = [
            {"name": f"uses_{n}", "predicate": predicate}
            for n, predicate in enumerate(ALLOWED_IN_SPARK)
        ]

    result = segments.run(edit_config(workspace.root, one_segment_each), spark)
    members = {p: result.counts[f"uses_{n}"]["members"] for n, p in enumerate(ALLOWED_IN_SPARK)}
    assert members == ALLOWED_IN_SPARK


def save_prospects(spark: SparkSession, workspace: Workspace, name: str) -> None:
    from jobs.warehouse.tables import save_prospect_lineage

    persons = spark.createDataFrame([("P7",), ("P8",), ("P9",)], "partner_id string")
    commit_table(
        workspace,
        persons,
        f"prospects/{name}",
        then=lambda path, run: save_prospect_lineage(
            path,
            run,
            audience=name,
            partner="acme",
            expression="is_home_owner=Yes",
            fields=["_partner.acme.lifestyle.isHomeOwner"],
        ),
    )


def test_prospect_audience_activates_partner_ids_under_policy(
    spark: SparkSession, workspace: Workspace
) -> None:
    save_prospects(spark, workspace, "owners")
    result = activate.run_prospects(
        workspace, spark, prospects="owners", destination="partner_id_audience"
    )
    assert result.counts["allowed"] and result.counts["exported_rows"] == 3
    rows = read_export(Path(result.counts["manifest"]))
    assert sorted(r["acmePersonId"] for r in rows) == ["P7", "P8", "P9"]


def test_prospect_audience_to_a_third_party_is_blocked_by_3pd(
    spark: SparkSession, workspace: Workspace, edit_config: EditConfig
) -> None:
    save_prospects(spark, workspace, "owners")

    def to_third_party(data: dict) -> None:
        (audience,) = [d for d in data["destinations"] if d["name"] == "partner_id_audience"]
        audience["marketing_actions"] = ["exportToThirdParty"]

    loaded = edit_config(workspace.root, to_third_party)
    result = activate.run_prospects(
        loaded, spark, prospects="owners", destination="partner_id_audience"
    )
    assert result.counts["allowed"] is False
    assert any(
        c.endswith("-> segment prospects/owners -> destination partner_id_audience")
        and "field _partner.acme.lifestyle.isHomeOwner (in the segment predicate)" in c
        for c in result.counts["chains"]
    )
    assert not (workspace.root / "exports" / "prospects").exists()


def test_prospects_cannot_go_where_profiles_fields_or_other_ids_are_exported(
    spark: SparkSession, workspace: Workspace
) -> None:
    from jobs.errors import WorkspaceError

    save_prospects(spark, workspace, "owners")
    with pytest.raises(WorkspaceError, match="exactly identities \\[acmePersonId\\]"):
        activate.run_prospects(workspace, spark, prospects="owners", destination="data_broker")


def test_an_edited_lineage_file_is_refused_not_trusted(
    spark: SparkSession, workspace: Workspace, cli: Cli
) -> None:
    """Case 2: a hand-edited `fields: []` used to drop the field labels from the decision."""
    from jobs.warehouse.tables import PROSPECT_LINEAGE, committed_folder

    save_prospects(spark, workspace, "owners")
    copy = Path(str(committed_folder(workspace.warehouse, "prospects/owners")), PROSPECT_LINEAGE)
    copy.write_text(json.dumps({**json.loads(copy.read_text()), "fields": []}))
    done = cli(
        "activate",
        "--prospects",
        "owners",
        "--destination",
        "partner_id_audience",
        "--workspace",
        str(workspace.root),
    )
    assert done.code == 2
    message = " ".join(done.stderr.split())  # the terminal wraps long lines
    assert "the file was changed or removed, so the audience is not activated" in message
    assert not (workspace.root / "exports" / "prospects").exists()


@pytest.mark.parametrize("name", ["../../../../x", "owners/../../x", "/tmp/x"])
def test_a_prospects_name_cannot_reach_outside_the_warehouse(
    workspace: Workspace, cli: Cli, name: str
) -> None:
    """Case 2: `--prospects ../../../../x` read an audience and its lineage from anywhere."""
    done = cli(
        "activate",
        "--prospects",
        name,
        "--destination",
        "partner_id_audience",
        "--workspace",
        str(workspace.root),
    )
    assert done.code == 2
    message = " ".join(done.stderr.split())  # the terminal wraps long lines
    assert f"prospect audience name {name!r}: expected a lowercase letter" in message
