"""tamis policy: show, validate and compare policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tamis.cli._common import (
    JsonOption,
    console,
    errors,
    group,
)

policy_app = group("policy", "Show, validate and compare policies.")


# --- policy ---------------------------------------------------------------------------------------


@policy_app.command("show")
def policy_show(
    name: Annotated[str, typer.Argument(help="A preset name (linkedin-2025, minimal) or a file.")],
    as_json: JsonOption = False,
) -> None:
    """Show what a policy allows. Example: tamis policy show minimal"""
    from tamis.policy import load_policy

    with errors():
        loaded = load_policy(name)
    policy = loaded.policy
    if as_json:
        console.print_json(policy.model_dump_json())
        return
    console.print(f"[bold]{policy.title}[/] ({policy.name} {policy.version})")
    console.print(f"source {loaded.source}  sha256 {loaded.sha256}")
    for pname, purpose in policy.purposes.items():
        table = Table(title=f"purpose {pname} (setting {purpose.setting}, {purpose.legal_basis})")
        table.add_column("what")
        table.add_column("allowed")
        table.add_row("content kinds", ", ".join(policy.allowed_kinds(pname)) or "-")
        table.add_row("visibility", ", ".join(purpose.visibility))
        table.add_row("profile fields", ", ".join(policy.allowed_profile_fields(pname)) or "-")
        table.add_row("categories", "\n".join(policy.used_categories(pname)))
        table.add_row("text stages", "\n".join(s.name for s in purpose.stages) or "-")
        console.print(table)
    excl = Table(title="never used (exclusions)")
    excl.add_column("categories")
    excl.add_column("content kinds")
    excl.add_row(
        "\n".join(policy.exclusions.categories), ", ".join(policy.exclusions.content_kinds)
    )
    console.print(excl)
    jur = Table(title="jurisdictions")
    for col in ("name", "countries", "start", "default", "minimum age", "unknown age"):
        jur.add_column(col)
    for j in policy.jurisdictions:
        countries = "every other country" if j.countries == "*" else ", ".join(j.countries)
        jur.add_row(
            j.name, countries, j.start.isoformat(), j.default, str(j.minimum_age), j.unknown_age
        )
    console.print(jur)


@policy_app.command("validate")
def policy_validate(file: Annotated[Path, typer.Argument(help="The policy file (YAML).")]) -> None:
    """Check a policy file; errors name the line and the key.

    Example: tamis policy validate my-policy.yaml
    """
    from tamis.pipeline.build import check_stages
    from tamis.policy import load_policy

    with errors():
        loaded = load_policy(file)
        check_stages(loaded)  # stage names, options and their values, as a build reads them
    console.print(f"[green]valid[/] {loaded.name} {loaded.policy.version} sha256 {loaded.sha256}")


@policy_app.command("diff")
def policy_diff(
    a: Annotated[str, typer.Argument(help="First policy (preset or file).")],
    b: Annotated[str, typer.Argument(help="Second policy (preset or file).")],
    as_json: JsonOption = False,
) -> None:
    """What differs between two policies. Example: tamis policy diff linkedin-2025 minimal"""
    from dataclasses import asdict

    from tamis.policy import diff_policies, load_policy

    with errors():
        diff = diff_policies(load_policy(a).policy, load_policy(b).policy)
    if as_json:
        console.print_json(json.dumps(asdict(diff)))
        return
    if diff.empty:
        console.print("no difference in scope")
        return
    table = Table(title=f"{diff.a} vs {diff.b}")
    table.add_column("what")
    table.add_column(f"{diff.a} (only, or its value)")
    table.add_column(f"{diff.b} (only, or its value)")
    if diff.purposes_only_a or diff.purposes_only_b:
        table.add_row("purposes", "\n".join(diff.purposes_only_a), "\n".join(diff.purposes_only_b))
    for p in diff.purposes:
        for what, only_a, only_b in (
            ("categories", p.categories_only_a, p.categories_only_b),
            ("content kinds", p.kinds_only_a, p.kinds_only_b),
            ("visibility", p.visibility_only_a, p.visibility_only_b),
        ):
            if only_a or only_b:
                table.add_row(f"{p.purpose}: {what}", "\n".join(only_a), "\n".join(only_b))
        for what, value_a, value_b in p.changes:
            table.add_row(f"{p.purpose}: {what}", value_a, value_b)
    if diff.exclusions_only_a or diff.exclusions_only_b:
        table.add_row(
            "exclusions", "\n".join(diff.exclusions_only_a), "\n".join(diff.exclusions_only_b)
        )
    for name, attr, va, vb in diff.jurisdictions:
        table.add_row(f"jurisdiction of {name}: {attr}", va or "-", vb or "-")
    console.print(table)
