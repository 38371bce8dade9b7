# %% [markdown]
# # partnerkit on DataFrames you already have
#
# A notebook (Jupyter, Databricks, VS Code: each `# %%` is a cell) that matches a CRM
# extract against a partner's hashed universe and asks whether the enriched data may be
# sent to a third party, without a workspace folder. The functions are the ones the
# `partnerkit` jobs run. Needs `pip install partnerkit` where the Spark session runs.

# %%
import hashlib

from pyspark.sql import SparkSession

from governance.api import evaluate_action
from ingest.api import SeedColumnNames, detect_hash_forms, hash_identifier, match_frames

spark = SparkSession.builder.getOrCreate()

# %% [markdown]
# Your customers, as they sit in the CRM, and the partner's universe: its person ID,
# SHA-256 of the email and phone as its `ndc` rules normalize them (lower-case email,
# national phone number), and a confidence per person.

# %%
seeds = spark.createDataFrame(
    [
        ("c1", " Jane.Doe@Example.com ", "(415) 555-0100", "US"),
        ("c2", "sam@example.org", None, "US"),
        ("c3", "not an email", "+44 20 7946 0958", "GB"),
        ("c4", "nobody@example.net", None, "US"),
    ],
    "customer_id string, email string, phone string, country string",
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


universe = spark.createDataFrame(
    [
        ("p-100", sha256("jane.doe@example.com"), sha256("4155550100"), 0.95),
        ("p-200", sha256("sam@example.org"), None, None),
        ("p-300", None, sha256("2079460958"), 0.7),
    ],
    "pid string, email_sha256 string, phone_sha256 string, confidence double",
)

# %% [markdown]
# What do the partner's columns hold? (The same check `partnerkit ingest` makes.)

# %%
forms = detect_hash_forms(universe, ["email_sha256", "phone_sha256"])
print(forms)
assert forms == {"email_sha256": "sha256", "phone_sha256": "sha256"}

# %% [markdown]
# One column normalized and hashed by a profile (`ndc`, `uid2`, `meta`, `google`, ...):
# the value, its hash, and why a value could not be used.

# %%
hashed = hash_identifier(seeds, "email", "email", profile="ndc")
hashed.select("customer_id", "email_email_hash", "email_email_reason").show(truncate=20)
rejected = {r["customer_id"]: r["email_email_reason"] for r in hashed.collect()}
assert rejected["c3"] is not None and rejected["c1"] is None

# %% [markdown]
# The match: every link kept as evidence, Noisy-OR scores, one canonical partner person per
# customer (never merged), and the stats `partnerkit match` reports.

# %%
result = match_frames(
    seeds,
    universe,
    seed_columns=SeedColumnNames(
        profile_id="customer_id", email="email", phone="phone", country="country"
    ),
    partner_id="pid",
    identifiers={"email_sha256": "email", "phone_sha256": "phone"},
    profile="ndc",
    confidence="confidence",
    partner="acme",
)
result.matches.select("profile_id", "partner_id", "overall_quality_score", "matched_on").show()
print(result.stats)
matched = {r["profile_id"]: r["partner_id"] for r in result.matches.collect()}
assert matched == {"c1": "p-100", "c2": "p-200", "c3": "p-300"}

# %% [markdown]
# May enriched fields carrying the third-party label go to a data broker? The bundled
# policies say no, and why.

# %%
evaluation = evaluate_action(
    "exportToThirdParty", fields={"_partner.acme.demographic.householdIncomeRange": ["3PD"]}
)
print(evaluation.allowed)
for violation in evaluation.violations:
    print(*violation.chains, *violation.remedies, sep="\n")
assert not evaluation.allowed
