"""Write amazon_oracle.json: Amazon's own normalizers run over the oracle corpus.

Amazon publishes its normalizers in repositories, not as a package, so the test cannot import
them; this script runs them once and stores what they return. Run it after changing the
corpus, from the project root, with CHECKOUT a clone of
https://github.com/aws-solutions/amazon-marketing-cloud-uploader-from-aws (its Python files
are not copied here):

    python -m tests.ingest.identity.make_amazon_oracle CHECKOUT
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest.identity.rules import AMAZON_COUNTRY_ALIASES
from tests.ingest.identity.test_sdk_oracles import AMAZON_ORACLE, DEFAULT_COUNTRY, Row, covered


def amazon_normalizers(checkout: Path):
    """The uploader's email, phone and address normalizers, imported from its checkout."""
    sys.path.insert(0, str(checkout / "source" / "glue"))
    from library.address_normalizer import AddressNormalizer  # type: ignore[import-not-found]
    from library.email_normalizer import EmailNormalizer  # type: ignore[import-not-found]
    from library.phone_normalizer import PhoneNormalizer  # type: ignore[import-not-found]

    def normalize(row: Row) -> str | None:
        """Their text, or None where they refuse the value (they return "" for that)."""
        if row.kind == "email":
            text = EmailNormalizer().normalize(row.value).normalized_record
        elif row.kind == "phone":
            text = PhoneNormalizer().normalize(row.value).normalized_record
        else:
            # The uploader takes the ISO code (GB), Amazon's SDK the name UK: both read alike.
            country = (row.country or DEFAULT_COUNTRY).strip().upper()
            country = AMAZON_COUNTRY_ALIASES.get(country, country)
            try:
                text = AddressNormalizer(country).normalize(row.value).normalized_record
            except ValueError:  # a country their tables do not cover
                return None
        return text or None

    return normalize


def main(checkout: Path) -> None:
    normalize = amazon_normalizers(checkout)
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    rows = [[*row, normalize(row)] for row in covered("amazon")]
    document = {
        "source": "aws-solutions/amazon-marketing-cloud-uploader-from-aws "
        f"{commit or 'unknown commit'}, source/glue/library/"
        "{email,phone,address}_normalizer.py",
        "rows": rows,
    }
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    text = f'{{"source": {json.dumps(document["source"])},\n"rows": [\n'
    AMAZON_ORACLE.write_text(text + ",\n".join(lines) + "\n]}\n", encoding="utf-8")
    print(f"{len(rows)} rows -> {AMAZON_ORACLE}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
