"""partnerkit's monthly jobs as an Airflow DAG, one spark-submit per job.

Each task runs partnerkit's spark-submit entry point (`jobs/__main__.py` of the installed
package) with the cluster's master, so the jobs run on the cluster unchanged; a task fails on
any non-zero exit code, and Airflow stops the tasks downstream of it. Exit codes: 2 config or
usage, 3 activation blocked by a policy, 4 quality gate (the delivery was not published), 5
steward check error, 6 drift (published: `skip_on_exit_code` could make it a skipped task
instead). Needs apache-airflow-providers-apache-spark and a `spark_default` connection to the
master.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

import jobs

ENTRY_POINT = os.path.join(os.path.dirname(jobs.__file__), "__main__.py")
WORKSPACE = os.environ.get("PARTNERKIT_WORKSPACE", "/data/partnerkit-workspace")
PARTNER = "acme"


def partnerkit_task(task_id: str, *arguments: str) -> SparkSubmitOperator:
    """`spark-submit jobs/__main__.py ARGUMENTS --workspace W --json`: one job, one task."""
    return SparkSubmitOperator(
        task_id=task_id,
        application=ENTRY_POINT,
        application_args=[*arguments, "--workspace", WORKSPACE, "--json"],
        conn_id="spark_default",
        name=f"partnerkit-{task_id}",
    )


with DAG(
    dag_id="partnerkit_monthly",
    schedule="0 6 2 * *",  # the 2nd of each month, after the partner's delivery
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one writer per workspace (a second would wait, then fail)
    tags=["partnerkit"],
) as dag:
    check = partnerkit_task("check", "check")
    ingest = partnerkit_task("ingest", "ingest", "--partner", PARTNER)
    match = partnerkit_task("match", "match", "--partner", PARTNER, "--prepare")
    enrich = partnerkit_task("enrich", "enrich")
    segment = partnerkit_task("segment", "segment")
    activate = partnerkit_task(
        "activate", "activate", "--segment", "loyal_gold", "--destination", "web_personalization"
    )
    check >> ingest >> match >> enrich >> segment >> activate
