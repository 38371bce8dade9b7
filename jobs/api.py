"""A workspace's schemas and policies from Python (notebooks, your own Spark jobs).

`load_workspace` reads `partnerkit.yaml` as every command does; the functions below give
what the jobs decide from: the profile's fields with their usage labels, the labels,
marketing actions and policies in force (bundled, the workspace's, its partners' contracts),
and a policy evaluation on a dataset's fields, the one `partnerkit policy evaluate` runs
(without its audit record). DataFrame transforms: `ingest.api`.
"""

from __future__ import annotations

from collections.abc import Sequence

from governance.catalogs import Governance
from governance.policies import Evaluation
from jobs.config import Workspace, load_workspace
from jobs.workspace_schema import (
    evaluate_on_workspace,
    profile_fields,
    workspace_datasets,
    workspace_governance,
)
from schemas.models import FieldDef

__all__ = [
    "evaluate_fields",
    "field_labels",
    "load_workspace",
    "workspace_fields",
    "workspace_policies",
]


def workspace_fields(workspace: Workspace) -> list[FieldDef]:
    """The profile schema flattened: each field's path, type, allowed values and labels."""
    return profile_fields(workspace)


def field_labels(workspace: Workspace) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per dataset (`seeds`, `partner/<p>`), each field's label codes."""
    views = workspace_datasets(workspace, profile_fields(workspace))
    return {
        name: {
            path: tuple(dict.fromkeys(r.code for r in refs)) for path, refs in view.fields.items()
        }
        for name, view in views.items()
    }


def workspace_policies(workspace: Workspace) -> Governance:
    """The labels, marketing actions and policies in force in the workspace."""
    return workspace_governance(workspace)


def evaluate_fields(
    workspace: Workspace,
    action: str,
    *,
    dataset: str,
    fields: Sequence[str] = (),
    labels: Sequence[str] = (),
) -> Evaluation:
    """Evaluate `action` on `dataset`'s labels and its `fields`' labels (plus `labels`)."""
    return evaluate_on_workspace(
        workspace,
        workspace_governance(workspace),
        action,
        labels=labels,
        dataset=dataset,
        fields=fields,
    )
