#!/usr/bin/env bash
# A month's delivery, from cron or any scheduler that runs a shell script:
#   0 6 2 * *  /opt/partnerkit/monthly_pipeline.sh /data/partnerkit-workspace >> /var/log/partnerkit.log 2>&1
#
# Each step stops the pipeline on its documented exit code, so nothing downstream runs on a
# delivery that failed its checks:
#   0 ok   1 error   2 bad config or usage   3 activation blocked by a policy
#   4 quality gate (delivery not published; the previous one stays current)
#   5 steward check found an error   6 published, but the match rate or quarantine drifted
set -uo pipefail

WORKSPACE=${1:?usage: monthly_pipeline.sh WORKSPACE [PARTNER]}
PARTNER=${2:-acme}
PARTNERKIT=${PARTNERKIT:-partnerkit}

step() {
  echo "$(date -u +%FT%TZ) partnerkit $*"
  "$PARTNERKIT" "$@" --workspace "$WORKSPACE"
  local code=$?
  case $code in
    0) return 0 ;;
    6) echo "drift: published, but look at \`partnerkit history --workspace $WORKSPACE\`" ;;
    4) echo "quality gate: the delivery was not published; see reports/data_docs/$PARTNER.html"
       exit 4 ;;
    *) echo "partnerkit $1 stopped the pipeline (exit $code)"; exit "$code" ;;
  esac
}

step check                                  # config and governance first: exit 5 stops here
step ingest --partner "$PARTNER"            # 4: not published; 6: published with drift
step match --partner "$PARTNER" --prepare   # incremental after a delta; --full to redo all
step enrich
step segment
step activate --segment loyal_gold --destination web_personalization   # 3: blocked, explained
echo "$(date -u +%FT%TZ) done"
