"""The schema registry: bundled files checked, refs resolved, fields flattened with labels."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from schemas.attributes import load_attribute_catalog
from schemas.errors import InvalidSchemaError, RecordValidationError, UnknownSchemaError
from schemas.models import PartnerSpec
from schemas.registry import (
    PROFILE_SCHEMA,
    XDM_BASE,
    bundled_registry,
    json_path,
    load_registry,
    to_struct_type,
)

GOLDEN = Path(__file__).parent / "golden"
# Regenerate with: PARTNERKIT_UPDATE_GOLDEN=1 pytest tests/schemas/test_registry.py
UPDATE = os.environ.get("PARTNERKIT_UPDATE_GOLDEN") == "1"
ACME = PartnerSpec(name="acme", domains=("demographic", "financial"), labels=("3PD", "C9"))


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; see UPDATE above"


def test_bundled_schemas_load_with_ids_matching_their_paths() -> None:
    registry = bundled_registry()
    assert "field_groups/person" in registry.names()
    for name in registry.names():
        assert registry.get(name).uri == f"{XDM_BASE}{name}.schema.json"
    assert registry.get("person").name == "field_groups/person"


def test_flatten_profile_schema_lists_fields_with_label_origins_golden() -> None:
    fields = bundled_registry().flatten(PROFILE_SCHEMA, [ACME])
    lines = [
        "\t".join((f.path, f.spark_type.simpleString(), *[lab.describe() for lab in f.labels]))
        for f in fields
    ]
    golden("enriched_profile_acme.tsv", "\n".join(lines) + "\n")
    golden(
        "enriched_profile_acme.struct.json",
        json.dumps(to_struct_type(fields).jsonValue(), indent=1) + "\n",
    )


def test_flatten_partner_keeps_only_its_domains_and_inherits_dataset_labels() -> None:
    fields = bundled_registry().flatten(PROFILE_SCHEMA, [ACME])
    partner_fields = [f for f in fields if f.partner == "acme"]
    assert {f.domain for f in partner_fields} == {None, "demographic", "financial"}
    age = next(f for f in partner_fields if f.path == "_partner.acme.demographic.ageRange")
    assert [(label.code, label.origin) for label in age.labels] == [
        ("3PD", "dataset"),
        ("C9", "dataset"),
        ("3PD", "field_group"),
    ]
    assert age.label_codes == ("3PD", "C9")
    assert age.enum == ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
    email = next(f for f in fields if f.path == "personalEmail.address")
    assert [(label.code, label.origin, label.source) for label in email.labels] == [
        ("I1", "field", "personalEmail.address")
    ]


def test_flatten_without_partners_shows_a_placeholder_with_every_domain() -> None:
    fields = bundled_registry().flatten(PROFILE_SCHEMA)
    domains = {f.domain for f in fields if f.partner == "<partner>" and f.domain}
    assert len(domains) == 12


def test_struct_type_maps_identity_map_and_dates() -> None:
    struct = to_struct_type(bundled_registry().flatten(PROFILE_SCHEMA, [ACME]))
    assert struct["identityMap"].dataType.simpleString() == (
        "map<string,array<struct<id:string,authenticatedState:string,primary:boolean>>>"
    )
    assert struct["loyalty"].dataType["joinDate"].dataType.simpleString() == "date"


def test_attribute_catalog_comes_from_partner_field_groups() -> None:
    catalog = load_attribute_catalog()
    assert list(catalog.attribute_domains)[:3] == ["demographic", "interest", "affinity"]
    assert len(catalog.attribute_domains) == 12 and len(catalog.attributes()) == 44
    assert catalog.attribute_domains["intent_category"].field == "intentCategory"


def valid_record() -> dict:
    return {
        "profileId": "C1",
        "identityMap": {
            "CRMID": [{"id": "C1", "authenticatedState": "authenticated", "primary": True}]
        },
        "loyalty": {"lifetimeValue": 12.5, "joinDate": "2020-01-01"},
        "_partner": {
            "acme": {
                "provenance": {"partner": "acme", "expiresAt": "2027-01-01T00:00"},
                "demographic": {"ageRange": "25-34"},
            }
        },
    }


def test_validate_records_accepts_a_conforming_record() -> None:
    assert bundled_registry().validate_records(PROFILE_SCHEMA, [valid_record()]) == 1


def test_validate_records_names_paths_and_never_the_value() -> None:
    record = valid_record()
    record["_partner"]["acme"]["demographic"]["ageRange"] = "secret-value-99"
    record["nickname"] = "secret-value-98"
    record["loyalty"]["lifetimeValue"] = "secret-value-97"
    with pytest.raises(RecordValidationError) as raised:
        bundled_registry().validate_records(PROFILE_SCHEMA, [valid_record(), record])
    message = str(raised.value)
    assert "acme.demographic.ageRange: not one of the 6 allowed values" in message
    assert "record 1: $: has properties the schema does not define" in message
    assert 'record 1: $.loyalty.lifetimeValue: fails type (expected "number")' in message
    assert "secret-value" not in message


def python_jsonschema_errors(record: dict) -> set[tuple[str, str]]:
    """(JSON path, rule) of each error the Python jsonschema package finds: the oracle."""
    registry = bundled_registry()
    resources = Registry().with_resources(
        (doc.uri, Resource.from_contents(doc.content)) for doc in registry.documents.values()
    )
    validator = Draft202012Validator(registry.get(PROFILE_SCHEMA).content, registry=resources)
    return {(error.json_path, str(error.validator)) for error in validator.iter_errors(record)}


def broken_records() -> list[dict]:
    """A conforming record, then one rule broken per record, at several depths."""
    edits = [
        lambda r: None,
        lambda r: r["_partner"]["acme"]["demographic"].update(ageRange="x"),
        lambda r: r.update(nickname="x"),
        lambda r: r.update(identityMap="x"),
        lambda r: r["loyalty"].update(lifetimeValue="x"),
        lambda r: r["identityMap"]["CRMID"][0].pop("id"),
        lambda r: r["identityMap"]["CRMID"][0].update(primary="yes"),
        lambda r: r["_partner"]["acme"]["demographic"].update(shoeSize=9),
        lambda r: r["_partner"]["acme"].update(unknownDomain={}),
        lambda r: r.update(person={"name": {"firstName": 7, "middle": "x"}}),
    ]
    records = []
    for edit in edits:
        record = valid_record()
        edit(record)
        records.append(record)
    return records


def test_record_errors_agree_with_the_python_jsonschema_package() -> None:
    """The fast validator reports each break where, and as, the reference package does."""
    registry = bundled_registry()
    validator = registry.validator(PROFILE_SCHEMA)
    for number, record in enumerate(broken_records()):
        found = {(json_path(e.instance_path), e.kind.name) for e in validator.iter_errors(record)}
        assert found == python_jsonschema_errors(record), number
        assert bool(found) is (number > 0), number


def write_schema(folder: Path, relpath: str, content: dict) -> None:
    path = folder / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content), encoding="utf-8")


def test_workspace_field_group_composes_with_bundled_ones(tmp_path: Path) -> None:
    base = "https://example.com/brand/"
    write_schema(
        tmp_path,
        "field_groups/store.schema.json",
        {
            "$id": f"{base}field_groups/store.schema.json",
            "title": "Store",
            "description": "d",
            "type": "object",
            "meta:usageLabels": ["C2"],
            "properties": {
                "homeStore": {"title": "Home store", "description": "d", "type": "string"}
            },
        },
    )
    write_schema(
        tmp_path,
        "schemas/brand_profile.schema.json",
        {
            "$id": f"{base}schemas/brand_profile.schema.json",
            "title": "Brand",
            "description": "d",
            "allOf": [
                {"$ref": f"{XDM_BASE}classes/profile.schema.json"},
                {"$ref": f"{base}field_groups/store.schema.json"},
            ],
        },
    )
    registry = load_registry([tmp_path])
    fields = registry.flatten("brand_profile")
    assert [(f.path, f.label_codes) for f in fields] == [("profileId", ()), ("homeStore", ("C2",))]


def test_broken_workspace_schemas_are_listed_together(tmp_path: Path) -> None:
    write_schema(
        tmp_path,
        "a.schema.json",
        {
            "$id": "https://example.com/elsewhere.schema.json",
            "type": "object",
            "properties": {"x": {"type": "string"}},
        },
    )
    write_schema(
        tmp_path,
        "b.schema.json",
        {
            "$id": "https://example.com/b.schema.json",
            "type": "nonsense",
            "meta:usageLabels": ["not a label"],
            "allOf": [{"$ref": "https://example.com/nope"}],
        },
    )
    (tmp_path / "c.schema.json").write_text("{", encoding="utf-8")
    with pytest.raises(InvalidSchemaError) as raised:
        load_registry([tmp_path])
    problems = raised.value.problems
    assert any("a.schema.json: $id must end with '/a.schema.json'" in p for p in problems)
    assert any("a.schema.json: field x has no title or description" in p for p in problems)
    assert any("b.schema.json: not a valid JSON Schema" in p for p in problems)
    assert any("b.schema.json: meta:usageLabels at (top) must be" in p for p in problems)
    assert any("c.schema.json: not valid JSON (line 1" in p for p in problems)


def test_unknown_schema_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSchemaError, match="expected one of .*field_groups/person"):
        bundled_registry().get("persn")
