"""Workspace config: every problem reported at once, with its path and the file's name."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
import yaml

from jobs.config import (
    SCHEMA_FILE_NAME,
    check_name,
    load_workspace,
    parse_config,
    workspace_json_schema,
    write_starter_workspace,
)
from jobs.errors import ConfigError, InvalidNameError, WorkspaceError
from tests.conftest import EditConfig

STARTER = files("jobs").joinpath("templates/partnerkit.yaml").read_text(encoding="utf-8")


def starter_data() -> dict:
    return yaml.safe_load(STARTER)


def test_parse_config_accepts_starter_template() -> None:
    config = parse_config(STARTER, file="partnerkit.yaml")
    assert config.partners[0].name == "acme"
    assert config.partners[0].hash == "sha256"
    assert config.partners[0].labels == ["3PD"]


def test_parse_config_names_unknown_key_with_its_path_and_file() -> None:
    data = starter_data()
    data["partners"][0]["hahs"] = "sha256"
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(data), file="/ws/partnerkit.yaml")
    assert caught.value.problems == [
        "partners[0].hahs: unknown key (check its spelling and indentation)"
    ]
    assert "/ws/partnerkit.yaml" in str(caught.value)


def test_parse_config_reports_every_problem_at_once() -> None:
    data = starter_data()
    data["partners"][0]["hash"] = "sha512"
    data["seeds"]["default_country"] = "usa"
    data["spark"]["conf"] = {"master": "local"}
    data["warehous"] = "x"
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(data), file="partnerkit.yaml")
    paths = sorted(problem.split(":")[0] for problem in caught.value.problems)
    assert paths == ["partners[0].hash", "seeds.default_country", "spark.conf", "warehous"]
    assert "'md5', 'sha1' or 'sha256'" in next(
        p for p in caught.value.problems if p.startswith("partners[0].hash")
    )


def test_parse_config_rejects_nested_unknown_key_in_mapping() -> None:
    data = starter_data()
    data["partners"][0]["mapping"]["identifiers"][1]["kind"] = "fax"
    data["partners"][0]["mapping"]["identifiers"][2]["colum"] = "email3"
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(data), file="partnerkit.yaml")
    paths = {problem.split(":")[0] for problem in caught.value.problems}
    assert "partners[0].mapping.identifiers[1].kind" in paths
    assert "partners[0].mapping.identifiers[2].colum" in paths


def test_parse_config_rejects_repeated_partner_names() -> None:
    data = starter_data()
    data["partners"].append(data["partners"][0])
    with pytest.raises(ConfigError, match="repeated: acme"):
        parse_config(yaml.safe_dump(data), file="partnerkit.yaml")


def test_parse_config_points_at_yaml_syntax_error_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("version: 1\nseeds: [unclosed\n", file="partnerkit.yaml")
    assert "line 3" in caught.value.problems[0]
    assert "not valid YAML" in caught.value.problems[0]


def test_parse_config_rejects_a_list_at_top_level() -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        parse_config("- a\n- b\n", file="partnerkit.yaml")


def test_load_workspace_names_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(tmp_path)
    assert str(tmp_path / "partnerkit.yaml") in str(caught.value)
    assert "partnerkit init" in str(caught.value)


def test_workspace_resolves_relative_paths_and_keeps_uris(tmp_path: Path) -> None:
    data = starter_data()
    data["warehouse"] = "s3a://bucket/warehouse"
    (tmp_path / "partnerkit.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    workspace = load_workspace(tmp_path)
    assert workspace.warehouse == "s3a://bucket/warehouse"
    assert workspace.ledger_path == tmp_path.resolve() / "ledger.sqlite"
    assert workspace.resolve("data/seeds.csv") == str(tmp_path.resolve() / "data/seeds.csv")


def test_parse_config_rejects_unknown_normalization_profile() -> None:
    data = starter_data()
    data["partners"][0]["profile"] = "nd"
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(data), file="partnerkit.yaml")
    (problem,) = caught.value.problems
    assert problem.startswith("partners[0].profile: unknown normalization profile")
    assert "ndc" in problem


def test_a_partner_without_hash_settings_takes_its_profiles() -> None:
    """Case: `hash_encoding` defaulted to hex with `profile: uid2`, whose hash is Base64."""
    data = starter_data()
    uid2 = data["partners"][0]
    uid2.update(profile="uid2")
    for key in ("hash", "hash_encoding"):
        uid2.pop(key, None)
    explicit = {**uid2, "name": "hexa", "namespace": "hexaId", "hash_encoding": "hex"}
    data["partners"] = [uid2, explicit]
    first, second = parse_config(yaml.safe_dump(data), file="partnerkit.yaml").partners
    assert (first.hash, first.hash_encoding) == ("sha256", "base64")
    assert (second.hash, second.hash_encoding) == ("sha256", "hex")  # what it says wins


def test_parse_config_rejects_a_partner_namespace_that_is_a_1p_namespace() -> None:
    data = starter_data()
    data["partners"][0]["namespace"] = "Email"
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_dump(data), file="partnerkit.yaml")
    assert "namespace 'Email' is already the email namespace" in str(caught.value)


COMMITTED_SCHEMA = files("jobs").joinpath("templates/partnerkit.schema.json")


def test_committed_json_schema_matches_the_models() -> None:
    """Regenerate with: python -m jobs.config > jobs/templates/partnerkit.schema.json"""
    committed = json.loads(COMMITTED_SCHEMA.read_text(encoding="utf-8"))
    assert committed == workspace_json_schema()


def test_json_schema_accepts_the_starter_and_flags_a_misspelled_key() -> None:
    validator = jsonschema.Draft202012Validator(workspace_json_schema())
    assert list(validator.iter_errors(starter_data())) == []
    data = starter_data()
    data["partners"][0]["hahs"] = "sha256"
    (error,) = validator.iter_errors(data)
    assert "hahs" in error.message and list(error.absolute_path) == ["partners", 0]


def test_init_points_editors_at_the_schema_it_writes(tmp_path: Path) -> None:
    config_path = write_starter_workspace(tmp_path, force=False)
    first_line = config_path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema={SCHEMA_FILE_NAME}"
    written = json.loads((tmp_path / SCHEMA_FILE_NAME).read_text(encoding="utf-8"))
    assert written == workspace_json_schema()


@pytest.mark.parametrize("path", ["../exports", "/tmp/partnerkit-exports"])
def test_a_file_destination_outside_the_workspace_must_say_so(
    tmp_path: Path, edit_config: EditConfig, path: str
) -> None:
    def outside(data: dict) -> None:
        data["destinations"][0].update(type="file", path=path)

    with pytest.raises(ConfigError, match=r"destinations\[0\]\.path: .* outside the workspace"):
        edit_config(tmp_path / "ws", outside)

    def allowed(data: dict) -> None:
        data["destinations"][0]["outside_workspace"] = True

    edit_config(tmp_path / "ws", allowed)  # loads


@pytest.mark.parametrize("name", ["../../data", "a/b", "Gold", ".hidden", "x" * 64, ""])
def test_a_name_from_the_command_line_is_one_folder_name(name: str) -> None:
    with pytest.raises(InvalidNameError, match="expected a lowercase letter"):
        check_name("audience", name)
    assert check_name("audience", "loyal_gold_2") == "loyal_gold_2"


def test_a_misspelt_forbidden_action_names_the_file_and_the_key(
    tmp_path: Path, edit_config: EditConfig
) -> None:
    """Case 5: a typo in forbidden_actions named neither the file nor the key."""

    def typo(data: dict) -> None:
        data["partners"][0]["contract"]["forbidden_actions"] = ["emailTargetting"]

    with pytest.raises(ConfigError) as raised:
        edit_config(tmp_path, typo)
    assert str(raised.value).startswith(f"{tmp_path / 'partnerkit.yaml'}: 1 problem")
    assert (
        "partners[0].contract.forbidden_actions: unknown marketing action 'emailTargetting'"
        in str(raised.value)
    )


@pytest.mark.parametrize("key", ["ledger", "reports"])
def test_the_ledger_and_reports_stay_inside_the_workspace(
    tmp_path: Path, edit_config: EditConfig, key: str
) -> None:
    with pytest.raises(ConfigError, match=f"{key}: ../elsewhere is outside the workspace"):
        edit_config(tmp_path / "ws", lambda data: data.update({key: "../elsewhere"}))


def test_leftover_references_are_errors_naming_the_key(
    tmp_path: Path, edit_config: EditConfig
) -> None:
    """Case: after a partner was removed, a canonical order naming it and a destination
    exporting its namespace loaded fine; an attribute under the wrong domain failed only at
    enrich, after ingest, prepare and match had run."""

    def leftovers(data: dict) -> None:
        data["partners"] = [p for p in data["partners"] if p["name"] == "acme"]
        data["canonical"]["domain_order"] = {"demographic": ["beta", "acme"]}
        data["destinations"][0]["identities"] = ["CRMID", "betaPersonId"]
        attributes = data["partners"][0]["mapping"]["attributes"]
        moved = attributes["financial"].pop()
        attributes["demographic"].append(moved)
        data["partners"][0]["mapping"]["attributes"]["astrology"] = ["zodiac_sign"]

    with pytest.raises(ConfigError) as caught:
        edit_config(tmp_path, leftovers)
    problems = caught.value.problems
    assert any(
        p.startswith("canonical.domain_order.demographic: unknown partner 'beta'") for p in problems
    )
    assert any(
        p.startswith("destinations[0].identities: unknown identity namespace 'betaPersonId'")
        for p in problems
    )
    assert any(
        p.startswith("partners[0].mapping.attributes.demographic: ")
        and "is an attribute of domain 'financial'" in p
        for p in problems
    )
    assert any(
        p.startswith("partners[0].mapping.attributes.astrology: unknown attribute domain")
        for p in problems
    )
    assert str(tmp_path / "partnerkit.yaml") in str(caught.value)


def test_a_recoding_must_land_in_the_catalog_and_name_a_mapped_attribute(
    tmp_path: Path, edit_config: EditConfig
) -> None:
    def recode_outside(data: dict) -> None:
        mapping = data["partners"][0]["mapping"]
        mapping["recode"] = {"gender": {"F": "Female", "W": "Woman"}}

    with pytest.raises(ConfigError) as caught:
        edit_config(tmp_path / "a", recode_outside)
    [problem] = caught.value.problems
    assert problem.startswith("partners[0].mapping.recode.gender: 'Woman' (for 'W') is not")
    assert "Female, Male, Unknown" in problem

    def unmapped(data: dict) -> None:
        data["partners"][0]["mapping"]["columns"] = {"zodiac_sign": "Star sign"}

    with pytest.raises(ConfigError) as caught:
        edit_config(tmp_path / "b", unmapped)
    assert "columns names attributes not listed under mapping.attributes: zodiac_sign" in str(
        caught.value
    )


def test_a_flat_attribute_list_says_to_group_by_domain(
    tmp_path: Path, edit_config: EditConfig
) -> None:
    """Case: a flat list gave "Input should be a valid dictionary"."""

    def flat(data: dict) -> None:
        mapping = data["partners"][0]["mapping"]
        mapping["attributes"] = [a for names in mapping["attributes"].values() for a in names]

    with pytest.raises(ConfigError) as caught:
        edit_config(tmp_path, flat)
    assert any(
        p.startswith("partners[0].mapping.attributes: expected attributes grouped by domain")
        and "`partnerkit attributes`" in p
        for p in caught.value.problems
    )


def test_segments_and_destinations_reading_a_removed_partner_are_errors(
    tmp_path: Path, edit_config: EditConfig
) -> None:
    """Case: segments reading `_partner.acme.*` after acme was removed loaded fine."""

    def acme_removed(data: dict) -> None:
        data["partners"] = [p for p in data["partners"] if p["name"] != "acme"]
        data["canonical"]["domain_order"] = {}
        data["destinations"] = [d for d in data["destinations"] if d["name"] != "data_broker"]
        data["destinations"] = [
            d for d in data["destinations"] if d["name"] != "partner_id_audience"
        ]
        data["segments"][1]["predicate"] = "loyalty.tier = '_partner.acme.x'"  # text, not a read

    with pytest.raises(ConfigError) as caught:
        edit_config(tmp_path, acme_removed)
    problems = caught.value.problems
    assert (
        "segments[0].predicate: reads partner 'acme', which is not configured; the partners "
        "are beta" in problems
    )
    assert any(p.startswith("destinations[0].attributes: reads partner 'acme'") for p in problems)
    assert not any(p.startswith("segments[1]") for p in problems)
