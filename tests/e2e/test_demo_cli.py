"""End to end: the installed `partnerkit` command run as a user runs it, in a subprocess."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PARTNERKIT = shutil.which("partnerkit", path=str(Path(sys.executable).parent)) or "partnerkit"


def partnerkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PARTNERKIT, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env or dict(os.environ),
        check=False,
    )


@pytest.mark.slow
def test_demo_generates_workspace_and_records_the_run(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    done = partnerkit("demo", "--workspace", str(workspace), "--seeds", "300",
                      "--universe", "1200", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    (generated,) = [r for r in document["results"] if r["job"] == "generate"]
    assert generated["counts"]["seeds"] == 300
    assert (workspace / "partnerkit.yaml").is_file()
    assert (workspace / "data" / "seeds.csv").is_file()
    assert list((workspace / "data" / "partners" / "acme").glob("universe-*.csv.gz"))

    listed = partnerkit("runs", "--workspace", str(workspace), "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["job"], r["status"]) for r in runs] == [
        ("activate", "succeeded"),
        ("lookalike", "succeeded"),
        ("icp", "succeeded"),
        ("activate", "succeeded"),
        ("activate", "succeeded"),
        ("segments", "succeeded"),
        ("compare", "succeeded"),
        ("steward", "succeeded"),
        ("enrich", "succeeded"),
        ("match", "succeeded"),
        ("seed_prepare", "succeeded"),
        ("partner_ingest", "succeeded"),
        ("partner_ingest", "succeeded"),
        ("generate", "succeeded"),
    ]
    # The demo ingested the partner file from a local S3 (moto) over HTTP.
    listed = partnerkit("batches", "--workspace", str(workspace), "--partner", "acme", "--json")
    assert listed.returncode == 0, listed.stderr
    (batch,) = json.loads(listed.stdout)["batches"]
    assert batch["status"] == "loaded" and batch["source_uri"].startswith("s3://partnerkit-demo/")
    assert batch["counts"]["input_rows"] == 1200
    assert runs[-1]["workflow_id"] == generated["workflow_id"]
    # Exact identifiers, normalized right, find every findable person and nobody else.
    assert document["ground_truth"]["precision"] == 1.0
    assert document["ground_truth"]["recall"] == 1.0
    (matched,) = [r for r in document["results"] if r["job"] == "match"]
    assert matched["counts"]["acme"]["resolved"] == document["ground_truth"]["matched"] > 0

    check_enriched_profiles(workspace, document, matched["counts"]["acme"]["resolved"])
    check_two_partners(workspace, document)
    (steward,) = [r for r in document["results"] if r["job"] == "steward"]
    assert steward["counts"]["findings"] == []  # the generated workspace is clean
    allowed, blocked, prospects = [
        r["counts"] for r in document["results"] if r["job"] == "activate"
    ]
    assert prospects["allowed"] and prospects["segment"] == "prospects/icp_precision"
    assert allowed["allowed"] and allowed["manifest"].startswith("s3://partnerkit-demo/")
    assert allowed["exported_rows"] == allowed["members"] > 0
    assert not blocked["allowed"] and blocked["chains"]
    assert not (workspace / "exports" / "data_broker").exists()
    (icp,) = [r for r in document["results"] if r["job"] == "icp"]
    assert icp["counts"]["allowed"] and icp["counts"]["members"] == resolved_count(document)
    assert Path(icp["outputs"]["report"]).read_text(encoding="utf-8").count("<svg") == 2
    (lookalike,) = [r for r in document["results"] if r["job"] == "lookalike"]
    assert lookalike["counts"]["total"] > 0 and len(lookalike["counts"]["sample"]) <= 10
    assert prospects["exported_rows"] == lookalike["counts"]["total"]
    listed = partnerkit("activations", "--workspace", str(workspace), "--json")
    # newest first; the demo's three are the oldest (check_two_partners added two more)
    assert [a["counts"]["allowed"] for a in json.loads(listed.stdout)["activations"]][-3:] == [
        True, False, True,
    ]  # fmt: skip


def check_two_partners(workspace: Path, document: dict) -> None:
    """The generated second partner disagrees on 10% of values; the email destination is
    blocked for acme's attribute (its contract) and allowed with beta's."""
    (compared,) = [r for r in document["results"] if r["job"] == "compare"]
    (pair,) = compared["counts"]["by_pair"]
    assert (pair["provider_a"], pair["provider_b"]) == ("acme", "beta")
    assert abs(pair["agreement_rate"] - 0.90) < 0.03, pair  # sampling error on ~2,000 cells
    household = [r for r in compared["counts"]["by_attribute"]
                 if r["attribute"] == "number_children_in_household"]  # fmt: skip
    assert household[0]["agree"] + household[0]["disagree"] == 0  # not independent

    blocked = partnerkit("activate", "--workspace", str(workspace), "--segment", "loyal_gold",
                         "--destination", "email_newsletter", "--json")  # fmt: skip
    assert blocked.returncode == 3, blocked.stderr
    remedies = json.loads(blocked.stdout)["counts"]["remedies"]
    assert remedies[0] == (
        "use provider beta's value: _partner.beta.demographic.householdIncomeRange instead of "
        "_partner.acme.demographic.householdIncomeRange (emailTargeting is allowed on it)"
    )
    config = workspace / "partnerkit.yaml"
    text = config.read_text(encoding="utf-8")
    acme_field = "attributes: [_partner.acme.demographic.householdIncomeRange]"
    beta_field = acme_field.replace("acme", "beta")
    config.write_text(text.replace(acme_field, beta_field), encoding="utf-8")
    allowed = partnerkit("activate", "--workspace", str(workspace), "--segment", "loyal_gold",
                         "--destination", "email_newsletter", "--json")  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["counts"]["allowed"] is True


def resolved_count(document: dict) -> int:
    (matched,) = [r for r in document["results"] if r["job"] == "match"]
    return matched["counts"]["acme"]["resolved"]


def check_enriched_profiles(workspace: Path, document: dict, resolved: int) -> None:
    """Every demo profile was validated; lookups and exports work; expiry removes attributes."""
    (enriched,) = [r for r in document["results"] if r["job"] == "enrich"]
    coverage = enriched["counts"]["coverage"]
    assert enriched["counts"]["validated_records"] == coverage["profiles"] == 300
    assert coverage["acme"]["enriched"] == coverage["acme"]["with_partner_id"] == resolved

    found = partnerkit("profile", "--workspace", str(workspace), "--profile-id", "C000000001",
                       "--json")  # fmt: skip
    assert found.returncode == 0, found.stderr
    record = json.loads(found.stdout)
    assert record["profileId"] == "C000000001" and "CRMID" in record["identityMap"]

    persons = partnerkit("get-person", "--workspace", str(workspace), "--domains",
                         "demographic,email", "--format", "jsonl", "--limit", "5")  # fmt: skip
    assert persons.returncode == 0, persons.stderr
    lines = [json.loads(line) for line in persons.stdout.splitlines()]
    assert len(lines) == 5 and all(set(p) == {"person_id", "metadata", "domains"} for p in lines)

    future = partnerkit("check", "--workspace", str(workspace), "--as-of", "2100-01-01", "--json")
    assert future.returncode == 5, future.stderr
    found = {f["check"] for f in json.loads(future.stdout)["counts"]["findings"]}
    assert found == {"partner_data_past_retention", "derived_table_with_expired_partner_data"}

    later = partnerkit("enrich", "--workspace", str(workspace), "--as-of", "2100-01-01",
                       "--json")  # fmt: skip
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["counts"]["coverage"]["acme"]["enriched"] == 0
    # enrich judged retention at 2100: the profiles hold no expired partner data any more
    checked = partnerkit("check", "--workspace", str(workspace), "--as-of", "2100-01-01",
                         "--json")  # fmt: skip
    found = {f["check"] for f in json.loads(checked.stdout)["counts"]["findings"]}
    assert found == {"partner_data_past_retention"}


def test_missing_java_is_one_readable_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's bin: python, no java
    done = partnerkit("generate", "--workspace", str(tmp_path), "--seeds", "5",
                      "--universe", "5", env=env)  # fmt: skip
    assert done.returncode == 1
    assert "Spark needs Java, but none was found on PATH" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_with_unknown_key_exits_2(tmp_path: Path) -> None:
    assert partnerkit("init", str(tmp_path)).returncode == 0
    config = tmp_path / "partnerkit.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "segmentz: []\n", encoding="utf-8")
    done = partnerkit("runs", "--workspace", str(tmp_path))
    assert done.returncode == 2
    assert "segmentz: unknown key" in done.stderr


@pytest.mark.slow
def test_ingest_killed_midway_leaves_the_table_as_it_was(tmp_path: Path) -> None:
    """SIGKILL during a load: the published batches are unchanged and still readable."""
    import signal
    import time

    workspace = tmp_path / "ws"
    done = partnerkit("generate", "--workspace", str(workspace), "--seeds", "100",
                      "--universe", "1000", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = partnerkit("ingest", "--workspace", str(workspace), "--partner", "acme", "--json")
    assert first.returncode == 0, first.stderr
    table = workspace / "warehouse" / "partner" / "acme"
    before = sorted(p.name for p in table.iterdir())

    bigger = workspace / "data" / "partners" / "acme-bigger" / "universe-00000.csv.gz"
    write_repeated_rows(next(table_source(workspace)), bigger, times=100)
    process = subprocess.Popen(
        [PARTNERKIT, "ingest", "--workspace", str(workspace), "--partner", "acme", str(bigger)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    staging = workspace / "warehouse" / ".staging"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(staging.glob("*/checked/*.parquet")):
            break
        time.sleep(0.1)
    assert process.poll() is None, "the ingest finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    assert sorted(p.name for p in table.iterdir()) == before
    listed = partnerkit("batches", "--workspace", str(workspace), "--json")
    statuses = [b["status"] for b in json.loads(listed.stdout)["batches"]]
    assert statuses == ["running", "loaded"]  # the killed one never claims to be loaded
    again = partnerkit("match", "--workspace", str(workspace), "--prepare", "--json")
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert rerun["job"] == "match" and rerun["seed_prepare"]["job"] == "seed_prepare"
    assert rerun["counts"]["acme"]["universe"]["format"] == "ingested batches"


def table_source(workspace: Path) -> Iterator[Path]:
    return (workspace / "data" / "partners" / "acme").glob("universe-*.csv.gz")


def write_repeated_rows(source: Path, target: Path, times: int) -> None:
    """A file `times` as long as `source` (one header), large enough to be caught mid-load;
    its repeated partner IDs never matter, the load is killed before the gate."""
    header, rows = gzip.decompress(source.read_bytes()).split(b"\n", 1)
    target.parent.mkdir(parents=True)
    target.write_bytes(gzip.compress(header + b"\n" + rows * times, compresslevel=1))
