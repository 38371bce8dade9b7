"""The CLI: exit codes, errors that name the key and file, help on every command, clean JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml

from jobs.cli.app import app, run_cli
from jobs.cli.exit_codes import EXIT_USAGE

STARTER_HELP_EXAMPLE = "Example: partnerkit"


def test_version_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--version"]) == 0
    assert capsys.readouterr().out.startswith("partnerkit ")


def test_no_arguments_shows_help_as_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli([]) == EXIT_USAGE
    printed = capsys.readouterr()
    assert "Usage: partnerkit [OPTIONS] COMMAND" in printed.out + printed.err
    assert "init" in printed.out + printed.err  # the command list, not an error


def test_unknown_option_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["init", str(tmp_path), "--no-such-flag"]) == EXIT_USAGE
    assert "No such option: --no-such-flag" in capsys.readouterr().err
    assert not (tmp_path / "partnerkit.yaml").exists()


def test_every_command_has_help_ending_in_an_example() -> None:
    def commands(group: typer.core.TyperGroup, prefix: str = "") -> list[tuple[str, object]]:
        found = []
        for name, sub in group.commands.items():
            found.append((prefix + name, sub))
            if hasattr(sub, "commands"):
                found += commands(sub, f"{prefix}{name} ")
        return found

    listed = commands(typer.main.get_command(app))  # type: ignore[arg-type]
    missing = [name for name, sub in listed if STARTER_HELP_EXAMPLE not in (sub.help or "")]
    assert "schema show" in dict(listed) and missing == []


def test_init_writes_starter_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["init", str(tmp_path / "ws"), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert Path(document["config"]).is_file()
    assert run_cli(["init", str(tmp_path / "ws")]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err
    assert run_cli(["init", str(tmp_path / "ws"), "--force"]) == 0


def test_config_typo_exits_2_naming_key_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["init", str(tmp_path)]) == 0
    config_path = tmp_path / "partnerkit.yaml"
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data["partners"][0]["namespce"] = data["partners"][0].pop("namespace")
    config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    capsys.readouterr()

    assert run_cli(["runs", "--workspace", str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "partners[0].namespce" in err
    assert "partners[0].namespace" in err  # the required key it replaced is named too
    assert str(config_path) in err.replace("\n", "")


def test_missing_workspace_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["runs", "--workspace", str(tmp_path / "nowhere")]) == EXIT_USAGE
    assert "partnerkit init" in capsys.readouterr().err


def test_missing_java_exits_1_with_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    code = run_cli(["generate", "--workspace", str(tmp_path), "--seeds", "5", "--universe", "5"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Spark needs Java" in err and "Traceback" not in err


def test_bad_generator_sizes_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["generate", "--workspace", str(tmp_path), "--seeds", "0"]) == EXIT_USAGE
    assert "seeds: Input should be greater than or equal to 1" in capsys.readouterr().err


def test_runs_json_is_one_document_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(["init", str(tmp_path)])
    capsys.readouterr()
    assert run_cli(["runs", "--workspace", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"runs": [], "more": False}


def test_global_options_before_the_command_apply_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(["init", str(tmp_path)])
    capsys.readouterr()
    assert run_cli(["--json", "--workspace", str(tmp_path), "runs"]) == 0
    assert json.loads(capsys.readouterr().out) == {"runs": [], "more": False}
    # State from one invocation does not leak into the next.
    assert run_cli(["runs", "--workspace", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


def test_hash_prints_one_json_object_per_value(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(
        ["hash", "--profile", "uid2", "--kind", "email", "JANE.SAOIRSE@gmail.com", "bad@"]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {
        "index": 0,
        "status": "ok",
        "normalized": "janesaoirse@gmail.com",
        "hash": "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=",  # UID2 docs' published value
        "hash_type": "sha256_base64",
        "profile": "uid2@v2",
        "reason": None,
    }
    assert (lines[1]["status"], lines[1]["reason"]) == ("rejected", "email_syntax")


def test_hash_phone_without_country_is_rejected_not_guessed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["hash", "--profile", "uid2", "--kind", "phone", "201 555 0100"]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "phone_country_unknown"
    assert (
        run_cli(["hash", "--profile", "uid2", "--kind", "phone", "--country", "US", "201 555 0100"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["normalized"] == "+12015550100"


def test_hash_reads_the_default_country_of_a_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The workspace's seeds.default_country applies where --country is not given (and
    --country wins where it is)."""
    run_cli(["init", str(tmp_path)])
    capsys.readouterr()
    args = ["hash", "--profile", "uid2", "--kind", "phone", "(201) 555-0100"]
    assert run_cli([*args, "--workspace", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["normalized"] == "+12015550100"
    assert run_cli([*args, "--workspace", str(tmp_path), "--country", "GB"]) == 0
    assert json.loads(capsys.readouterr().out)["normalized"] == "+442015550100"


@pytest.mark.parametrize("country", ["XX", "USA", "U"])
def test_hash_refuses_a_country_code_it_does_not_know(
    country: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["hash", "--profile", "uid2", "--kind", "phone", "--country", country, "1"])
    assert code == EXIT_USAGE
    assert "ISO 3166 two-letter country code" in capsys.readouterr().err


def test_hash_with_a_pinned_profile_version(capsys: pytest.CaptureFixture[str]) -> None:
    """google@v1 keeps Gmail dots; google (the newest) removes them, as Google does now."""
    email = "Jane.Doe+Shop@gmail.com"
    assert run_cli(["hash", "--profile", "google@v1", email]) == 0
    old = json.loads(capsys.readouterr().out)
    assert run_cli(["hash", "--profile", "google", email]) == 0
    new = json.loads(capsys.readouterr().out)
    assert (old["normalized"], old["profile"]) == ("jane.doe+shop@gmail.com", "google@v1")
    assert (new["normalized"], new["profile"]) == ("janedoe@gmail.com", "google@v2")


def test_hash_leaves_unhashed_what_the_platform_takes_as_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Google takes country and postal code as written; Meta hashes them."""
    assert run_cli(["hash", "--profile", "google", "--kind", "country", " gb "]) == 0
    google = json.loads(capsys.readouterr().out)
    assert (google["normalized"], google["hash"], google["hash_type"]) == ("GB", "GB", "plaintext")
    assert run_cli(["hash", "--profile", "meta", "--kind", "country", " gb "]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert (meta["normalized"], meta["hash_type"]) == ("gb", "sha256_hex")


def test_hash_takes_a_street_line_for_amazon_and_the_whole_address_for_ndc(
    capsys: pytest.CaptureFixture[str],
) -> None:
    street = "8 Bluestem Terrace"
    assert run_cli(["hash", "--profile", "amazon", "--kind", "address", street]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "address_country_unsupported"
    args = ["hash", "--profile", "amazon", "--kind", "address", "--country", "US", street]
    assert run_cli(args) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["normalized"] == "8bluestemter"
    assert document["hash"] == "fe8115cbef0c2b9c5bedbedaa34b080223959365176679d9b0461465b1b08425"
    one_line = "1 Main Street, Austin, TX 78701"
    assert run_cli(["hash", "--profile", "ndc", "--kind", "address", one_line]) == 0
    assert json.loads(capsys.readouterr().out)["normalized"] == "1 MAIN ST AUSTIN TX 78701"
    assert run_cli(["hash", "--profile", "uid2", "--kind", "address", one_line]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "kind_unsupported"


def test_hash_unknown_profile_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["hash", "--profile", "nope", "x@example.com"]) == EXIT_USAGE
    assert "unknown normalization profile 'nope'" in capsys.readouterr().err
    assert run_cli(["hash", "--profile", "google@v9", "x@example.com"]) == EXIT_USAGE
    assert "unknown normalization profile 'google@v9'" in capsys.readouterr().err


def test_profiles_json_lists_every_profile_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["profiles", "--json"]) == 0
    profiles = json.loads(capsys.readouterr().out)["profiles"]
    assert {
        "uid2@v1",
        "uid2@v2",
        "meta@v2",
        "google@v1",
        "google@v2",
        "google_ads_legacy@v1",
        "ndc@v1",
        "adobe_email_lc_sha256@v1",
        "liveramp@v1",
    } <= set(profiles)
    assert profiles["ndc@v1"]["steps"]["address"] == ["address as usps_one_line"]
    assert (profiles["google@v1"]["newest"], profiles["google@v2"]["newest"]) == (False, True)
    assert "country_code_added" in profiles["meta@v2"]["differences"]


def test_schema_show_lists_fields_with_label_origins(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["schema", "show", "--labels", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "schemas/enriched_profile"
    fields = {f["path"]: f for f in document["fields"]}
    age = fields["_partner.<partner>.demographic.ageRange"]
    assert {
        "code": "3PD",
        "origin": "field_group",
        "source": "field_groups/partner_demographic",
    } in (age["labels"])
    assert fields["loyalty.joinDate"]["type"] == "date"


def test_schema_show_unknown_name_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["schema", "show", "no_such_schema"]) == EXIT_USAGE
    assert "unknown schema 'no_such_schema'" in capsys.readouterr().err


def test_profile_needs_exactly_one_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["profile", "--workspace", str(tmp_path)]) == EXIT_USAGE
    assert "give exactly one of --email or --profile-id" in capsys.readouterr().err


def test_attributes_lists_the_catalog_with_columns_paths_and_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["attributes", "--domain", "demographic", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    income = next(a for a in document["attributes"] if a["column"] == "household_income_range")
    assert income["path"] == "_partner.<partner>.demographic.householdIncomeRange"
    assert "$50K-$75K" in income["values"]
    assert {a["domain"] for a in document["attributes"]} == {"demographic"}
    assert Path(document["catalog"], "partner_demographic.schema.json").is_file()
    assert run_cli(["attributes", "--domain", "astrology"]) == EXIT_USAGE
    assert "unknown attribute domain 'astrology'" in capsys.readouterr().err


def test_log_lines_off_a_terminal_are_not_padded_to_the_uncut_table_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Case: with tables printed whole off a terminal, every log line was padded to 100,000
    characters (a --debug demo wrote 19 GB to its log). Log lines wrap at a normal width."""
    import logging

    from jobs.cli.output import configure_logging, fit_output_width

    fit_output_width()
    configure_logging(False)
    logging.getLogger("partnerkit.test").warning("a warning %s", "x" * 300)
    printed = capsys.readouterr().err
    assert "a warning" in printed
    assert max(len(line) for line in printed.splitlines()) < 1000
