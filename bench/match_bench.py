"""Benchmark seed prepare + match against the single-machine ways a user could do it.

In one script, on one generated workspace (1M seeds x 5M universe by default):
  partnerkit cold   `partnerkit prepare` then `partnerkit match`, each a fresh CLI + JVM,
                    and `partnerkit match --prepare` (both jobs, one CLI + JVM)
  partnerkit warm   `match --prepare`'s two jobs run a second time in one SparkSession
  duckdb            hand-written SQL: normalize (ndc email + phone), SHA-256, join, Noisy-OR
  pandas            pandas + hashlib doing the same, as a user would write it by hand
Every engine runs in its own subprocess, sampled for peak resident memory (with its JVM).
Matches are scored against the generator's ground truth (precision, recall). The baselines
do email and phone only (no USPS address rules), so their recall misses address-only people.

    python bench/match_bench.py                    # generates bench/out/match-1m if missing
    python bench/match_bench.py --seeds 100000 --universe 500000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import OUT, generate_command, run_measured  # noqa: E402

EMAIL_COLUMNS = ("email1", "email2", "email3")
PHONE_COLUMNS = ("phone1", "phone2")
SCORES = {"email": 0.9, "phone": 0.8}
# The generated workspace also has a second partner (beta); the baselines match acme only.
PARTNER = ("--partner", "acme")


def phone_regions() -> list[tuple[str, str, str | None, int, int]]:
    """(region, calling code, trunk prefix, min, max) from libphonenumber's data."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    rows = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = PhoneMetadata.metadata_for_region(region)
        lengths = [n for n in meta.general_desc.possible_length if n > 0] or [4, 17]
        rows.append(
            (
                region,
                str(meta.country_code),
                meta.national_prefix or None,
                min(lengths),
                max(lengths),
            )
        )
    return rows


# ---------------------------------------------------------------- engines (run in subprocesses)


def engine_warm(workspace: Path) -> dict[str, float]:
    from jobs import pipeline
    from jobs.config import load_workspace
    from jobs.runtime.spark import SparkSettings, build_spark

    loaded = load_workspace(workspace)
    spark = build_spark(SparkSettings(shuffle_partitions=loaded.config.spark.shuffle_partitions))
    pipeline.prepare_and_match(loaded, spark, partner=PARTNER[1])  # warm-up: JIT, codegen, files
    started = time.perf_counter()
    pipeline.prepare_and_match(loaded, spark, partner=PARTNER[1])  # what `match --prepare` runs
    seconds = time.perf_counter() - started
    spark.stop()
    return {"seconds": seconds}


DUCKDB_SQL = """
CREATE TEMP TABLE codes AS
    SELECT code, min(low) AS low, max(high) AS high FROM regions GROUP BY code;
CREATE TEMP TABLE seed_ids AS
WITH raw AS (
    SELECT profile_id, email, phone,
           coalesce(nullif(upper(trim(country)), ''), 'US') AS region
    FROM read_csv('{seeds}', header = true, all_varchar = true)
), emails AS (
    SELECT profile_id, lower(regexp_replace(email, '^\\s+|\\s+$', '', 'g')) AS e FROM raw
), email_parts AS (
    SELECT profile_id, regexp_extract(e, '^(.*)@([^@]*)$', 1) AS local,
           replace(regexp_extract(e, '^(.*)@([^@]*)$', 2), 'googlemail.com', 'gmail.com') AS domain
    FROM emails WHERE e LIKE '%@%'
), email_norm AS (
    SELECT profile_id, 'email' AS kind,
           CASE WHEN domain = 'gmail.com' THEN replace(split_part(local, '+', 1), '.', '')
                ELSE local END || '@' || domain AS value
    FROM email_parts
), phones AS (
    SELECT profile_id, region, trim(phone) AS t, regexp_replace(phone, '[^0-9]', '', 'g') AS d
    FROM raw WHERE phone IS NOT NULL
), phone_national AS (
    SELECT p.profile_id,
        CASE
            WHEN starts_with(p.t, '+') THEN
                CASE WHEN left(p.d, 1) IN (SELECT code FROM codes) THEN substr(p.d, 2)
                     WHEN left(p.d, 2) IN (SELECT code FROM codes) THEN substr(p.d, 3)
                     ELSE substr(p.d, 4) END
            WHEN length(p.d) > r.high AND starts_with(p.d, r.code)
                 THEN substr(p.d, length(r.code) + 1)
            WHEN r.prefix IS NOT NULL AND starts_with(p.d, r.prefix)
                 AND length(p.d) - length(r.prefix) >= r.low THEN substr(p.d, length(r.prefix) + 1)
            ELSE p.d END AS value
    FROM phones p LEFT JOIN regions r ON r.region = p.region
)
SELECT profile_id, kind, sha256(value) AS hash FROM email_norm
WHERE regexp_full_match(value, '[a-z0-9!#$%&''*+/=?^_`{{|}}~.-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+')
UNION ALL
SELECT profile_id, 'phone', sha256(value) FROM phone_national WHERE length(value) >= 7;

CREATE TEMP TABLE universe AS
    SELECT * FROM read_csv('{universe}', header = true, all_varchar = true);
CREATE TEMP TABLE universe_ids AS
    {universe_union};
CREATE TEMP TABLE matches AS
WITH evidence AS (
    SELECT s.profile_id, u.person_id, s.kind,
           max(coalesce(try_cast(u.confidence AS DOUBLE),
                        CASE s.kind WHEN 'email' THEN 0.9 ELSE 0.8 END)) AS score
    FROM universe_ids u JOIN seed_ids s ON s.kind = u.kind AND s.hash = u.hash
    GROUP BY ALL
), scored AS (
    SELECT profile_id, person_id, 1 - product(1 - score) AS overall FROM evidence GROUP BY ALL
)
SELECT profile_id, person_id AS partner_id, overall FROM scored
WHERE overall >= 0.5
QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY overall DESC, person_id) = 1;
COPY matches TO '{out}' (FORMAT parquet);
"""


def engine_duckdb(workspace: Path, out: Path) -> dict[str, float]:
    import duckdb

    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(
        "CREATE TEMP TABLE regions (region VARCHAR, code VARCHAR, prefix VARCHAR,"
        " low INTEGER, high INTEGER)"
    )
    connection.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?)", phone_regions())
    union = " UNION ALL ".join(
        [
            f"SELECT person_id, confidence, 'email' AS kind, {c} AS hash FROM universe "
            f"WHERE {c} IS NOT NULL"
            for c in EMAIL_COLUMNS
        ]
        + [
            f"SELECT person_id, confidence, 'phone', {c} FROM universe WHERE {c} IS NOT NULL"
            for c in PHONE_COLUMNS
        ]
    )
    sql = DUCKDB_SQL.format(
        seeds=workspace / "data/seeds.csv",
        universe=workspace / "data/partners/acme/*.csv.gz",
        universe_union=union,
        out=out,
    )
    connection.execute(sql)
    return {"seconds": time.perf_counter() - started}


def engine_pandas(workspace: Path, out: Path) -> dict[str, float]:
    import hashlib
    import re

    import pandas as pd

    started = time.perf_counter()
    regions = {r[0]: r[1:] for r in phone_regions()}
    codes = {r[1] for r in regions.values()}
    seeds = pd.read_csv(workspace / "data/seeds.csv", dtype=str, keep_default_na=False)

    def email(value: str) -> str | None:
        e = value.strip().lower()
        if e.count("@") != 1:
            return None
        local, domain = e.split("@")
        domain = "gmail.com" if domain == "googlemail.com" else domain
        if domain == "gmail.com":
            local = local.split("+")[0].replace(".", "")
        candidate = f"{local}@{domain}"
        return (
            candidate
            if re.fullmatch(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(\.[a-z0-9-]+)+", candidate)
            else None
        )  # noqa: E501

    def phone(value: str, country: str) -> str | None:
        text = value.strip()
        digits = re.sub(r"[^0-9]", "", text)
        if text.startswith("+"):
            size = next((n for n in (1, 2, 3) if digits[:n] in codes), 3)
            national = digits[size:]
        else:
            code, prefix, low, high = regions.get(country.strip().upper() or "US", regions["US"])
            if len(digits) > high and digits.startswith(code):
                national = digits[len(code) :]
            elif prefix and digits.startswith(prefix) and len(digits) - len(prefix) >= low:
                national = digits[len(prefix) :]
            else:
                national = digits
        return national if len(national) >= 7 else None

    def sha(value: str | None) -> str | None:
        return hashlib.sha256(value.encode()).hexdigest() if value else None

    seed_ids = pd.concat(
        [
            pd.DataFrame(
                {
                    "profile_id": seeds.profile_id,
                    "kind": "email",
                    "hash": seeds.email.map(email).map(sha),
                }
            ),
            pd.DataFrame(
                {
                    "profile_id": seeds.profile_id,
                    "kind": "phone",
                    "hash": [
                        sha(phone(p, c)) for p, c in zip(seeds.phone, seeds.country, strict=True)
                    ],
                }
            ),
        ]
    ).dropna(subset=["hash"])
    columns = ["person_id", "confidence", *EMAIL_COLUMNS, *PHONE_COLUMNS]
    universe = pd.concat(
        pd.read_csv(part, dtype=str, usecols=columns)
        for part in sorted((workspace / "data/partners/acme").glob("*.csv.gz"))
    )
    long = universe.melt(id_vars=["person_id", "confidence"], var_name="column", value_name="hash")
    long = long.dropna(subset=["hash"])
    long["kind"] = long["column"].str.rstrip("0123456789")
    evidence = long.merge(seed_ids, on=["kind", "hash"])
    evidence["score"] = pd.to_numeric(evidence["confidence"], errors="coerce").fillna(
        evidence["kind"].map(SCORES)
    )
    evidence = evidence.groupby(["profile_id", "person_id", "kind"], as_index=False)["score"].max()
    evidence["miss"] = 1 - evidence["score"]
    scored = evidence.groupby(["profile_id", "person_id"], as_index=False)["miss"].prod()
    scored["overall"] = 1 - scored["miss"]
    scored = scored[scored["overall"] >= 0.5].sort_values(
        ["profile_id", "overall", "person_id"], ascending=[True, False, True]
    )
    best = scored.drop_duplicates("profile_id")
    best.rename(columns={"person_id": "partner_id"})[
        ["profile_id", "partner_id", "overall"]
    ].to_parquet(out)
    return {"seconds": time.perf_counter() - started}


# ---------------------------------------------------------------- driver


def committed_matches(workspace: Path) -> str:
    """The Parquet files of partner acme's current matches, as readers resolve them."""
    from jobs.warehouse.commits import read_manifest

    warehouse = workspace / "warehouse"
    (folder,) = read_manifest(str(warehouse)).tables["matches/partner=acme"].folders
    return str(warehouse / "matches/partner=acme" / folder / "*.parquet")


def evaluate(matches: str, workspace: Path) -> dict[str, float]:
    import duckdb

    truth = workspace / "data/ground_truth.csv"
    row = duckdb.sql(
        f"""
        WITH t AS (SELECT profile_id, person_id,
                   email_in_universe::BOOLEAN OR phone_in_universe::BOOLEAN
                   OR address_in_universe::BOOLEAN AS findable
                   FROM read_csv('{truth}', header = true, all_varchar = true)),
             m AS (SELECT profile_id, partner_id FROM read_parquet('{matches}'))
        SELECT count(*) AS matched,
               count(*) FILTER (WHERE m.partner_id = t.person_id) AS correct,
               (SELECT count(*) FROM t WHERE findable) AS findable,
               count(*) FILTER (WHERE m.partner_id = t.person_id AND t.findable) AS found
        FROM m LEFT JOIN t USING (profile_id)
        """
    ).fetchall()[0]
    matched, correct, findable, found = row
    return {
        "matched": matched,
        "precision": correct / matched if matched else 0.0,
        "recall": found / findable if findable else 0.0,
    }


def ensure_workspace(workspace: Path, seeds: int, universe: int, seed: int) -> None:
    marker = workspace / f".generated-{seeds}-{universe}-{seed}"
    if marker.exists():
        return
    shutil.rmtree(workspace, ignore_errors=True)
    done = run_measured(generate_command(workspace, seeds, universe, seed))
    if done.returncode != 0:
        sys.exit(done.stderr)
    marker.touch()
    print(f"generated in {done.wall_s:.1f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1_000_000)
    parser.add_argument("--universe", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engine", choices=["warm", "duckdb", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.engine:  # a child process: run one engine and report its time on stdout
        runners = {
            "warm": lambda: engine_warm(args.workspace),
            "duckdb": lambda: engine_duckdb(args.workspace, args.out),
            "pandas": lambda: engine_pandas(args.workspace, args.out),
        }
        runner = runners[args.engine]
        print(json.dumps(runner()))
        return

    workspace = OUT / f"match-{args.seeds}x{args.universe}"
    ensure_workspace(workspace, args.seeds, args.universe, args.seed)
    cli = shutil.which("partnerkit") or "partnerkit"
    figures: dict[str, dict[str, float]] = {}

    cold_runs = {
        "partnerkit cold CLI, 2 commands": [[cli, "prepare", *PARTNER], [cli, "match", *PARTNER]],
        "partnerkit cold CLI, match --prepare": [[cli, "match", "--prepare", *PARTNER]],
    }
    for label, commands in cold_runs.items():
        done_all = [run_measured([*c, "--workspace", str(workspace), "--json"]) for c in commands]
        for done in done_all:
            if done.returncode != 0:
                sys.exit(done.stderr[-3000:])
        figures[label] = {
            "seconds": sum(d.wall_s for d in done_all),
            "peak_mb": max(d.peak_mb for d in done_all),
            **evaluate(committed_matches(workspace), workspace),
        }
        print(label, figures[label], file=sys.stderr)
    for engine, label in (
        ("warm", "partnerkit warm"),
        ("duckdb", "duckdb SQL"),
        ("pandas", "pandas + hashlib"),
    ):
        out = OUT / f"matches-{engine}.parquet"
        done = run_measured(
            [
                sys.executable,
                __file__,
                "--engine",
                engine,
                "--workspace",
                str(workspace),
                "--out",
                str(out),
            ]
        )
        if done.returncode != 0:
            sys.exit(f"{engine} failed:\n{done.stderr[-3000:]}")
        matches = committed_matches(workspace) if engine == "warm" else str(out)
        scored = evaluate(matches, workspace)
        seconds = json.loads(done.stdout.splitlines()[-1])["seconds"]
        figures[label] = {"seconds": seconds, "peak_mb": done.peak_mb, **scored}
        print(label, figures[label], file=sys.stderr)

    baseline = figures["duckdb SQL"]["seconds"]
    rows = args.seeds + args.universe
    print(f"prepare + match, {args.seeds:,} seeds x {args.universe:,} universe, 2 cores")
    print("| engine | wall s | rows/s | peak RSS MB | x DuckDB | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, f in figures.items():
        print(
            f"| {label} | {f['seconds']:.1f} | {rows / f['seconds']:,.0f} | {f['peak_mb']:,.0f} "
            f"| {f['seconds'] / baseline:.2f} | {f['precision']:.4f} | {f['recall']:.4f} |"
        )


if __name__ == "__main__":
    main()
