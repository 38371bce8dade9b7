"""The identity namespace catalog: partner namespaces never link profiles, codes never clash."""

from __future__ import annotations

import pytest

from schemas.errors import NamespaceError
from schemas.namespaces import bundled_namespaces


def test_partner_namespace_is_for_activation_only() -> None:
    catalog = bundled_namespaces().with_partners([("acme", "acmePersonId")])
    partner = catalog.get("acmePersonId")
    assert (partner.type, partner.partner, partner.links_profiles) == ("partner", "acme", False)
    assert catalog.get("Email").links_profiles
    assert catalog.code_for("crm") == "CRMID"


def test_partner_namespace_clashing_with_another_is_an_error_naming_both() -> None:
    with pytest.raises(NamespaceError) as raised:
        bundled_namespaces().with_partners([("acme", "ids"), ("beta", "IDS"), ("gamma", "email")])
    message = str(raised.value)
    assert "partner 'beta': namespace 'IDS' is already partner 'acme'" in message
    assert "partner 'gamma': namespace 'email' is already the email namespace" in message
