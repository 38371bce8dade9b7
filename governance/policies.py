"""Policy evaluation: labels x a marketing action -> violations, each with its explanation.

Like Adobe's constraints evaluation: the caller passes labels directly, or datasets and the
fields it uses. Dataset labels always count; field and field-group labels count only for the
fields passed in. An AND policy fires only when all its labels occur in one evaluation. Drafts
are evaluated only on request. Plain Python: no Spark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from governance.catalogs import Governance
from governance.errors import UnknownDatasetFieldError, UnknownLabelError
from schemas.models import LabelRef

UseOrigin = Literal["requested", "dataset", "field", "field_group"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelUse(Frozen):
    """One occurrence of a label in what is evaluated: which label, where it sits, why."""

    code: str
    origin: UseOrigin
    dataset: str | None = None
    field: str | None = None
    source: str | None = None

    def describe(self) -> str:
        if self.origin == "requested":
            return f"label {self.code} (given to the evaluation)"
        if self.origin == "dataset":
            return f"label {self.code} (dataset label) -> dataset {self.dataset}"
        inherited = f", from field group {self.source}" if self.origin == "field_group" else ""
        return f"label {self.code}{inherited} -> field {self.field} -> dataset {self.dataset}"


class DatasetView(Frozen):
    """A dataset's own labels and each field's labels (from the schema registry)."""

    labels: tuple[str, ...]
    fields: dict[str, tuple[LabelRef, ...]]


class Violation(Frozen):
    """A policy that denies the action, the labels that made it fire, the chain and remedies."""

    policy_id: str
    policy_name: str
    condition: str
    action: str
    matched: tuple[LabelUse, ...]
    chains: tuple[str, ...]
    remedies: tuple[str, ...]


class Evaluation(Frozen):
    """The outcome for one marketing action over one set of label uses."""

    action: str
    consolidated_labels: tuple[str, ...]
    labels_by_dataset: dict[str, list[str]]
    labels_by_field: dict[str, dict[str, list[str]]]
    evaluated_policies: tuple[str, ...]
    violations: tuple[Violation, ...]

    @property
    def allowed(self) -> bool:
        return not self.violations


def requested_uses(codes: Iterable[str]) -> list[LabelUse]:
    """Labels given directly (`--labels C4,I1`)."""
    return [LabelUse(code=code, origin="requested") for code in dict.fromkeys(codes)]


def dataset_uses(
    datasets: Mapping[str, DatasetView], requested: Mapping[str, Sequence[str]]
) -> list[LabelUse]:
    """Label uses of the requested datasets (all their dataset labels) and fields (their own)."""
    uses: list[LabelUse] = []
    for dataset, paths in requested.items():
        view = datasets.get(dataset)
        if view is None:
            raise UnknownDatasetFieldError("dataset", dataset, sorted(datasets))
        uses += [LabelUse(code=c, origin="dataset", dataset=dataset) for c in view.labels]
        for path in paths:
            if path not in view.fields:
                raise UnknownDatasetFieldError(f"field of {dataset}", path, sorted(view.fields))
            uses += [
                LabelUse(
                    code=ref.code,
                    origin=ref.origin,
                    dataset=dataset,
                    field=path,  # type: ignore[arg-type]
                    source=ref.source,
                )
                for ref in view.fields[path]
                if ref.origin != "dataset"
            ]
    return uses


def require_known(
    governance: Governance, action: str, uses: Sequence[LabelUse], where: str
) -> None:
    if action not in governance.actions:
        raise UnknownLabelError(
            "marketing action", [action], "--action", sorted(governance.actions)
        )
    unknown = sorted({use.code for use in uses if use.code not in governance.labels})
    if unknown:
        raise UnknownLabelError("label", unknown, where, sorted(governance.labels))


def remedies_for(action: str, matched: Sequence[LabelUse]) -> tuple[str, ...]:
    remedies = []
    for use in matched:
        if use.origin in ("field", "field_group"):
            remedies.append(f"drop field {use.field} (label {use.code}) from what is used")
        elif use.origin == "dataset":
            remedies.append(
                f"leave dataset {use.dataset} out, or do not use it for {action} "
                f"(its dataset label {use.code} applies to every field)"
            )
    remedies.append(f"remove {action} from the destination's marketing actions")
    remedies.append("if a label is wrong, have a data steward change it (`partnerkit check`)")
    return tuple(dict.fromkeys(remedies))


def evaluate_policies(
    governance: Governance,
    action: str,
    uses: Sequence[LabelUse],
    *,
    include_drafts: bool = False,
    where: str = "evaluation",
) -> Evaluation:
    """Evaluate every enabled (and, on request, draft) policy that restricts `action`."""
    require_known(governance, action, uses, where)
    present = {use.code for use in uses}
    statuses = ("enabled", "draft") if include_drafts else ("enabled",)
    policies = [
        p for p in governance.policies if p.status in statuses and action in p.marketing_actions
    ]
    violations = []
    for policy in policies:
        if not policy.deny.holds(present):
            continue
        firing = set(policy.deny.satisfying(present))
        matched = tuple(use for use in uses if use.code in firing)
        head = (
            f"policy {policy.id} ({policy.name}) -> condition {policy.deny.describe()} "
            f"-> action {action}"
        )
        violations.append(
            Violation(
                policy_id=policy.id,
                policy_name=policy.name,
                condition=policy.deny.describe(),
                action=action,
                matched=matched,
                chains=tuple(f"{head} -> {use.describe()}" for use in matched),
                remedies=remedies_for(action, matched),
            )
        )
    by_dataset: dict[str, list[str]] = {}
    by_field: dict[str, dict[str, list[str]]] = {}
    for use in uses:
        if use.dataset is not None and use.field is None:
            by_dataset.setdefault(use.dataset, []).append(use.code)
        elif use.dataset is not None and use.field is not None:
            by_field.setdefault(use.dataset, {}).setdefault(use.field, []).append(use.code)
    return Evaluation(
        action=action,
        consolidated_labels=tuple(sorted(present)),
        labels_by_dataset={k: sorted(set(v)) for k, v in by_dataset.items()},
        labels_by_field={
            d: {f: sorted(set(c)) for f, c in fs.items()} for d, fs in by_field.items()
        },
        evaluated_policies=tuple(p.id for p in policies),
        violations=tuple(violations),
    )
