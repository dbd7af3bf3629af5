"""tamis audit: memorisation audits of models trained on snapshots (canaries, exposure,
extraction, membership inference, reference model, report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from tamis.cli._common import console, errors, fail, group

audit = group("audit", "Memorisation audits: canaries, exposure, extraction, membership inference.")
canaries_app = typer.Typer(help="Canary secrets planted in an audit copy.", no_args_is_help=True)
audit.add_typer(canaries_app, name="canaries")

ModelOption = Annotated[
    Path, typer.Option("--model", help="A tamis reference model or a local Hugging Face model dir.")
]
OutJson = Annotated[
    Path | None, typer.Option("--out", help="Write the JSON result here (default: print it).")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed.")]


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"{what} must be comma-separated integers, e.g. 1,4,16,64")
        raise


def _emit(result: dict[str, Any], out: Path | None) -> None:
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    if out is None:
        console.print_json(data.decode())
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        console.print(f"wrote {out}")


def _read_json(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
        raise
    return data


@canaries_app.command("plant")
def plant(
    snapshot: Annotated[Path, typer.Option("--snapshot", help="The snapshot directory.")],
    out: Annotated[Path, typer.Option("--out", help="The audit copy to write.")],
    formats: Annotated[str, typer.Option("--formats", help="Secret formats.")] = "phone,email,iban",
    per_level: Annotated[int, typer.Option("--per-level", help="Canaries per level.")] = 20,
    levels: Annotated[str, typer.Option("--levels", help="Copies per level.")] = "1,4,16,64",
    controls: Annotated[int, typer.Option("--controls", help="Never-inserted controls.")] = 20,
    seed: SeedOption = 0,
    secrets: Annotated[
        Path | None, typer.Option("--secrets", help="Secrets file (default: OUT.canaries.json).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT.")] = False,
) -> None:
    """Write an audit copy of a snapshot with canary secrets at several repetition levels.

    Example: tamis audit canaries plant --snapshot snap --out audit --levels 1,4,16,64 --seed 7
    """
    from tamis.audit.canaries import draw_canaries
    from tamis.audit.canaries import plant as plant_

    with errors():
        cs = draw_canaries(
            [f.strip() for f in formats.split(",") if f.strip()],
            _ints(levels, "--levels"),
            per_level,
            controls,
            seed,
        )
        summary = plant_(snapshot, out, cs, secrets_path=secrets, force=force)
    console.print(
        f"audit copy {out}: {summary['canary_records']} canary records "
        f"({summary['canaries']} canaries, {summary['controls']} controls); "
        f"secrets in {summary['secrets']}"
    )


@audit.command("train-reference")
def train_reference(
    snapshot: Annotated[Path, typer.Option("--snapshot", help="Snapshot or audit copy.")],
    out: Annotated[Path, typer.Option("--out", help="The model directory to write.")],
    dp_epsilon: Annotated[
        float | None, typer.Option("--dp-epsilon", help="DP-SGD: epsilon per member.")
    ] = None,
    dp_delta: Annotated[float, typer.Option("--dp-delta", help="DP-SGD: delta per member.")] = 1e-5,
    dp_max_records: Annotated[
        int, typer.Option("--dp-max-records-per-member", help="DP: records kept per member.")
    ] = 8,
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the data.")] = 3.0,
    holdout: Annotated[float, typer.Option("--holdout", help="Share held out for MIA.")] = 0.1,
    seed: SeedOption = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT.")] = False,
) -> None:
    """Train the tiny byte-level reference GPT on CPU (extra: audit).

    Example: tamis audit train-reference --snapshot audit --out model --dp-epsilon 8
    """
    from tamis.audit.reference import ReferenceConfig
    from tamis.audit.reference import train_reference as train

    cfg = ReferenceConfig(
        epochs=epochs,
        holdout=holdout,
        seed=seed,
        dp_epsilon=dp_epsilon,
        dp_delta=dp_delta,
        dp_max_records_per_member=dp_max_records,
    )
    with errors():
        summary = train(snapshot, out, cfg, force=force)
    console.print(
        f"trained {summary['parameters']:,} parameters on {summary['records_trained']:,} records "
        f"({summary['steps']} steps, {summary['seconds']} s, loss {summary['final_loss']})"
    )
    if summary["dp"]:
        dp = summary["dp"]
        console.print(
            f"DP-SGD: member epsilon spent {dp['member_epsilon_spent']:.3g} "
            f"(delta {dp['member_delta_spent']:.2g}), noise multiplier {dp['noise_multiplier']:.3g}"
        )


@audit.command("exposure")
def exposure(
    model: ModelOption,
    canaries: Annotated[Path, typer.Option("--canaries", help="The secrets file.")],
    references: Annotated[
        int, typer.Option("--references", help="References per format.")
    ] = 10_000,
    seed: SeedOption = 0,
    out: OutJson = None,
) -> None:
    """Exposure of planted canaries vs controls, per repetition level, with validity.

    Example: tamis audit exposure --model model --canaries audit.canaries.json --out exposure.json
    """
    from tamis.audit.canaries import CanarySet
    from tamis.audit.exposure import measure_exposure
    from tamis.audit.models import load_model

    with errors():
        result = measure_exposure(
            load_model(model), CanarySet.load(canaries), references=references, seed=seed
        )
    _emit(result.to_dict(), out)
    console.print(result.reason)
    if not result.valid:
        raise typer.Exit(2)


@audit.command("extract")
def extract(
    model: ModelOption,
    snapshot: Annotated[Path, typer.Option("--snapshot", help="What the model trained on.")],
    canaries: Annotated[Path | None, typer.Option("--canaries", help="The secrets file.")] = None,
    prefixes: Annotated[int, typer.Option("--prefixes", help="Member records to prompt.")] = 100,
    samples: Annotated[int, typer.Option("--samples", help="Sampled generations.")] = 200,
    seed: SeedOption = 0,
    out: OutJson = None,
) -> None:
    """Extraction: canary and record-prefix completion, sampled generations matched verbatim.

    Example: tamis audit extract --model model --snapshot audit --canaries audit.canaries.json
    """
    from tamis.audit.canaries import CanarySet, read_snapshot_table
    from tamis.audit.extraction import extraction_audit
    from tamis.audit.models import load_model

    with errors():
        result = extraction_audit(
            load_model(model),
            read_snapshot_table(snapshot),
            CanarySet.load(canaries) if canaries else None,
            prefixes=prefixes,
            samples=samples,
            seed=seed,
        )
    _emit(result, out)


@audit.command("mia")
def mia(
    model: ModelOption,
    snapshot: Annotated[Path, typer.Option("--snapshot", help="What the model trained on.")],
    split: Annotated[
        Path | None, typer.Option("--split", help="record_id,split parquet (default MODEL/split).")
    ] = None,
    seed: SeedOption = 0,
    out: OutJson = None,
) -> None:
    """Membership inference (loss, zlib) on the held-out split: AUC and TPR at 0.1% FPR.

    Example: tamis audit mia --model model --snapshot audit --out mia.json
    """
    import pyarrow.parquet as pq

    from tamis.audit.canaries import read_snapshot_table
    from tamis.audit.mia import membership_inference
    from tamis.audit.models import load_model

    split_path = split or model / "split.parquet"
    if not split_path.exists():
        fail(f"no split file {split_path}: give --split (record_id, split = train|holdout)")
    with errors():
        result = membership_inference(
            load_model(model), read_snapshot_table(snapshot), pq.read_table(split_path), seed=seed
        )
    _emit(result, out)


@audit.command("report")
def report(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    exposure_json: Annotated[Path | None, typer.Option("--exposure", help="exposure JSON")] = None,
    extraction_json: Annotated[
        Path | None, typer.Option("--extraction", help="extract JSON")
    ] = None,
    mia_json: Annotated[Path | None, typer.Option("--mia", help="mia JSON")] = None,
    max_safe_level: Annotated[int, typer.Option(help="Levels that must look like controls.")] = 1,
    max_mia_auc: Annotated[float, typer.Option(help="Highest acceptable MIA AUC.")] = 0.6,
    max_mia_tpr: Annotated[float, typer.Option(help="Highest TPR at 0.1% FPR.")] = 0.01,
    max_record_hit_rate: Annotated[float, typer.Option(help="Record completion hits.")] = 0.05,
) -> None:
    """HTML report with plots and a pass/fail verdict (exit 1 on fail, 2 if invalid).

    Example: tamis audit report --exposure e.json --extraction x.json --mia m.json --out a.html
    """
    from tamis.audit.report import Thresholds, write_report

    with errors():
        result = write_report(
            out,
            exposure=_read_json(exposure_json),
            extraction=_read_json(extraction_json),
            mia=_read_json(mia_json),
            thresholds=Thresholds(max_safe_level, max_record_hit_rate, max_mia_auc, max_mia_tpr),
        )
    for line in result["checks"]:
        console.print(line, highlight=False)
    console.print(f"verdict: {result['verdict']} ({out})")
    if result["verdict"] != "pass":
        raise typer.Exit(1 if result["verdict"] == "fail" else 2)
