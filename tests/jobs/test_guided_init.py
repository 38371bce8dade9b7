"""Guided init: a workspace file written from a seed file and a partner file never seen before."""

from __future__ import annotations

import csv
import gzip
import random
from pathlib import Path

import pytest
import yaml

from ingest.identity.profiles import get_profile
from ingest.identity.reference import hash_value, normalize_identifier
from jobs.cli.app import run_cli
from jobs.cli.exit_codes import EXIT_USAGE
from jobs.config import load_workspace
from jobs.guided_init import guess_partner, guess_seeds, sample_file
from schemas.attributes import load_attribute_catalog
from tests.conftest import Cli

UID2 = get_profile("uid2")


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def uid2_hash(kind: str, value: str) -> str:
    normalized = normalize_identifier(kind, UID2, value, default_country="US").value
    assert normalized is not None
    return hash_value(normalized, "sha256", "base64")


def unfamiliar_files(folder: Path, people: int = 40, in_universe: int = 30) -> tuple[Path, Path]:
    """A CRM export and a UID2-hashed (Base64) partner file, with the names such files have."""
    chooser = random.Random(7)
    seeds, partner = [], []
    for i in range(people):
        email, phone = f"Person.{i}@Example.com", f"(415) 555-{1000 + i:04d}"
        seeds.append(
            {
                "Customer ID": f"C{i:04d}",
                "First Name": "Ana",
                "Last Name": "Lee",
                "Email Address": email,
                "Mobile": phone,
                "Address Line 1": f"{100 + i} Main St",
                "City": "San Francisco",
                "State": "CA",
                "ZIP": "94105",
                "Country": "US",
                "Email Opt In": chooser.choice(["yes", "no"]),
                "favourite_store": "Market St",
            }
        )
        if i < in_universe:
            partner.append(
                {
                    "pid": f"X{i:05d}",
                    "hashed_email": uid2_hash("email", email),
                    "hashed_phone": uid2_hash("phone", phone),
                    "Age": chooser.choice(["25-34", "35-44", "45-54"]),
                    "Household Income": chooser.choice(["$50K - $75K", "$75K - $100K"]),
                    "Home Owner": chooser.choice(["Y", "N"]),
                    "shoe_size": str(chooser.randint(5, 12)),
                }
            )
    return (
        write_csv(folder / "crm_export.csv", seeds),
        write_csv(folder / "partner_uid2.csv.gz", partner),
    )


def test_seed_columns_are_recognised_and_missing_address_parts_set_to_null(
    tmp_path: Path,
) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [{"Cust ID": "1", "contact": "a@example.com", "Tel": "2015550100", "Town": "Boston"}],
    )
    guess = guess_seeds(sample_file(path))
    assert guess.roles == {
        "profile_id": "Cust ID",
        "email": "contact",  # by its values
        "phone": "Tel",
        "street": None,
        "city": "Town",
        "state": None,
        "postal_code": None,
        "country": None,
    }
    assert guess.guessed == {"email"} and guess.country_guessed


def test_a_seed_file_without_an_id_column_names_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [{"email": "a@example.com"}])
    assert run_cli(["init", str(tmp_path / "ws"), "--seeds", str(path)]) == EXIT_USAGE


def test_partner_hash_form_identifiers_and_attributes_are_recognised(tmp_path: Path) -> None:
    """Exact name, spelling, synonym and values; recoded spellings; values left unknown."""
    rows = [
        {
            "person_id": f"P{i}",
            "email_md5": f"{i:032x}",
            "hem2": f"{i + 1:032x}",
            "age_range": "25-34",
            "HouseholdIncomeRange": "$50K - $75K",
            "Sex": ["F", "M", "Unknown"][i % 3],
            "schooling": ["High School", "Some College", "Bachelor Degree"][i % 3],
            "Marital": ["Married", "Separated"][i % 2],
            "shoe_size": "9",
        }
        for i in range(30)
    ]
    sample = sample_file(write_csv(tmp_path / "p.csv", rows))
    guess = guess_partner("acme", sample, None, load_attribute_catalog())
    assert (guess.hash, guess.encoding, guess.profile) == ("md5", "hex", "ndc@v1")
    assert guess.partner_id == "person_id"
    assert guess.identifiers == [("email_md5", "email"), ("hem2", "email")]
    found = {a.column: (a.attribute, a.how, a.recode, a.unknown_values) for a in guess.attributes}
    assert found == {
        "age_range": ("age_range", "name", {}, []),
        "HouseholdIncomeRange": (
            "household_income_range",
            "spelling",
            {"$50K - $75K": "$50K-$75K"},
            [],
        ),
        "Sex": ("gender", "synonym", {"F": "Female", "M": "Male"}, []),
        "schooling": ("education", "values", {}, []),
        "Marital": ("marital_status", "synonym", {}, ["Separated"]),
    }
    assert guess.unused == ["shoe_size"]


def test_init_without_files_is_minimal_and_with_demo_is_the_full_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["init", str(tmp_path / "minimal")]) == 0
    minimal = load_workspace(tmp_path / "minimal").config
    assert [p.name for p in minimal.partners] == ["acme"] and minimal.segments == []
    assert run_cli(["init", str(tmp_path / "demo"), "--demo"]) == 0
    assert len(load_workspace(tmp_path / "demo").config.segments) > 1
    capsys.readouterr()


@pytest.mark.parametrize(
    "args",
    [
        ["--seeds", "s.csv", "--partner", "acme"],  # no file
        ["--seeds", "s.csv", "--partner", "Acme=p.csv"],  # not a valid name
        ["--seeds", "s.csv", "--partner", "acme=p.csv,profile"],  # option without a value
        ["--partner", "acme=p.csv"],  # no seed file
        ["--demo", "--seeds", "s.csv"],
        ["--seeds", "s.csv", "--partner", "acme=p.csv,profile=nope"],  # unknown profile
    ],
)
def test_bad_init_options_are_usage_errors_with_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    write_csv(tmp_path / "s.csv", [{"customer_id": "1", "email": "a@example.com"}])
    write_csv(tmp_path / "p.csv", [{"person_id": "P1", "email1": "a" * 64}])
    resolved = [str(tmp_path / a) if a.endswith(".csv") else a for a in args]
    resolved = [a.replace("=p.csv", f"={tmp_path / 'p.csv'}") for a in resolved]
    assert run_cli(["init", str(tmp_path / "ws"), *resolved]) == EXIT_USAGE
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "ws" / "partnerkit.yaml").exists()


def test_from_two_unfamiliar_files_init_then_every_job_runs_unedited(
    tmp_path: Path, cli: Cli
) -> None:
    """The newcomer's path: init from a CRM export and a UID2 (Base64) partner file whose
    columns follow common names, then ingest, prepare, match, enrich and check."""
    seeds, partner = unfamiliar_files(tmp_path)
    ws = str(tmp_path / "ws")
    done = cli("init", ws, "--seeds", str(seeds), "--partner", f"datapal={partner},profile=uid2")
    assert done.code == 0, done.stderr
    assert "Household Income" in done.stderr and "2 values recoded" in done.stderr
    text = (tmp_path / "ws" / "partnerkit.yaml").read_text(encoding="utf-8")
    assert "Person.0@Example.com" not in text  # no row value but attribute values
    partner_config = yaml.safe_load(text)["partners"][0]
    assert (partner_config["hash"], partner_config["hash_encoding"]) == ("sha256", "base64")

    ingest = cli("ingest", "--workspace", ws, "--json")
    assert ingest.code == 0, ingest.stderr
    [batch] = ingest.json()["counts"]["batches"]
    assert (batch["accepted_rows"], batch["quarantined_rows"]) == (30, 0)
    assert cli("prepare", "--workspace", ws).code == 0
    match = cli("match", "--workspace", ws, "--json")
    assert match.code == 0, match.stderr
    assert match.json()["counts"]["datapal"]["resolved"] == 30
    assert cli("enrich", "--workspace", ws).code == 0
    profile = cli("profile", "--workspace", ws, "--email", "person.0@example.com", "--json")
    demographic = profile.json()["_partner"]["datapal"]["demographic"]
    assert demographic["householdIncomeRange"] in ("$50K-$75K", "$75K-$100K")
    check = cli("check", "--workspace", ws, "--json")
    assert check.code == 0 and check.json()["counts"]["errors"] == 0


def test_a_folder_is_sampled_across_its_parts(tmp_path: Path) -> None:
    """Case: only a folder's first part was read, so a spelling only a later part held was
    not recoded and its rows were quarantined at ingest."""
    folder = tmp_path / "delivery"
    folder.mkdir()
    for number, income in enumerate(["$50K - $75K", "$100K - $150K"]):
        rows = [
            {"person_id": f"P{number}{i}", "email1": "a" * 64, "income": income} for i in range(3)
        ]
        write_csv(folder / f"part-{number:05d}.csv.gz", rows)
    guess = guess_partner("acme", sample_file(folder), None, load_attribute_catalog())
    [income] = guess.attributes
    assert income.recode == {"$100K - $150K": "$100K-$150K", "$50K - $75K": "$50K-$75K"}
