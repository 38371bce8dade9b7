"""Every warehouse table's name, written once: jobs, readers and tests import them from here.

A name is a folder under the workspace's warehouse. Per-partner tables hold one folder per
partner (`partner=<p>` partitions, or `<table>/<p>` for the delivered and derived ones).
"""

from __future__ import annotations

# Seed prepare
SEEDS_TABLE = "seeds"  # one row per valid 1P profile
SEED_IDENTIFIERS_TABLE = "seed_identifiers"  # per partner: (profile, kind) -> hash or reason
SEED_QUARANTINE_TABLE = "quarantine/seeds"  # per partner: identifiers that could not be used
SEED_ROWS_QUARANTINE_TABLE = "quarantine/seed_rows"  # seed rows without a usable profile ID

# Partner ingest
PARTNER_TABLE = "partner"  # partner/<p>/batch_id=<id>: accepted partner persons
QUARANTINE_TABLE = "quarantine"  # quarantine/<p>/batch_id=<id>: rejected rows with reasons
# partner_changes/<p>/batch_id=<fold id>: a delta delivery's last change per person
PARTNER_CHANGES_TABLE = "partner_changes"

# Opt-outs: optouts/partner=<p>: every (kind, key) the partner's opt-out deliveries named,
# kept for good; optout_quarantine/partner=<p>: their rejected rows with reasons
OPTOUTS_TABLE = "optouts"
OPTOUT_QUARANTINE_TABLE = "optout_quarantine"

# Match
MATCH_EVIDENCE_TABLE = "match_evidence"  # per partner: (profile, person, criterion)
MATCHES_TABLE = "matches"  # per partner: the canonical person of each matched profile

# Enrich
PROFILES_TABLE = "profiles"  # one XDM record per profile
ATTRIBUTE_EVIDENCE_TABLE = "attribute_evidence"  # (profile, partner, attribute) -> value
CANONICAL_TABLE = "canonical_attributes"  # (profile, attribute) -> the chosen value

# Audiences
SEGMENTS_TABLE = "segments"  # segments/<name>: member profile IDs
PROSPECTS_TABLE = "prospects"  # prospects/<name>: saved lookalike audiences (partner IDs)
CLUSTERS_TABLE = "clusters"  # clusters/<p>: attribute clusters of the current delivery
# activation_state/<destination>/<segments|prospects>/<name>: the rows an incremental
# destination last received, to tell the next export what to add and remove
ACTIVATION_STATE_TABLE = "activation_state"

# Erasure: the keys (`<kind>:<sha256>`) of people forgotten, read by prepare and activate
FORGOTTEN_TABLE = "forgotten"
