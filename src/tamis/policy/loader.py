"""Load and validate policy files (YAML), with errors that name the line and the key.

Presets ship inside the package (``tamis/policy/presets/*.yaml``) and are loaded by name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tamis.errors import PolicyError
from tamis.policy.model import Policy, PolicyValueError

PRESETS_PACKAGE = "tamis.policy.presets"


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with where it came from and the sha256 of its exact bytes."""

    policy: Policy
    source: str
    sha256: str
    text: str
    # the line of each key (a path such as ("purposes", "p", "stages", 0)), for later checks
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, *path: str | int) -> int | None:
        """The line of the key at ``path``, or of the nearest key above it that has one."""
        return _line_of(path, self.lines)

    @property
    def name(self) -> str:
        return self.policy.name


def preset_names() -> list[str]:
    files = resources.files(PRESETS_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in files.iterdir() if p.name.endswith(".yaml"))


def load_policy(name_or_path: str | Path) -> LoadedPolicy:
    """Load a preset by name (``linkedin-2025``, ``minimal``) or a policy file by path.

    A preset's name always means the preset, even where a file of that name lies in the working
    folder (a snapshot built with ``--out minimal`` must not change what ``--policy minimal``
    means): such a file is named as a path (``./minimal``)."""
    if isinstance(name_or_path, str) and name_or_path in preset_names():
        data = resources.files(PRESETS_PACKAGE).joinpath(f"{name_or_path}.yaml").read_bytes()
        return parse_policy(data, f"preset:{name_or_path}")
    path = Path(name_or_path)
    if path.suffix == ".toml":
        raise PolicyError(
            "policies are written in YAML (.yaml, .yml); TOML is not read", file=str(path)
        )
    if path.suffix in {".yaml", ".yml"} or path.exists() or "/" in str(name_or_path):
        if path.is_dir():
            raise PolicyError("is a folder, not a policy file", file=str(path))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise PolicyError(f"policy file {path} does not exist") from None
        except OSError as exc:
            raise PolicyError(
                f"cannot read the policy file: {exc.strerror}", file=str(path)
            ) from None
        return parse_policy(data, str(path))
    raise PolicyError(
        f"unknown policy {str(name_or_path)!r}: not a file, and not a preset; "
        f"presets: {', '.join(preset_names())}"
    )


def parse_policy(data: bytes, source: str) -> LoadedPolicy:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 ({exc})", file=source) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise PolicyError("YAML nesting is too deep", file=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"YAML syntax error: {problem}", file=source, line=line) from None
    if node is None:
        raise PolicyError("the policy file is empty", file=source)
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        raw = _construct(node, (), lines, _Budget())
    except PolicyError as exc:  # raised where the file's name is not known
        raise PolicyError(exc.message, file=source, line=exc.line, field=exc.field) from None
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        # Drop pydantic's union-branch labels (e.g. "tuple[str, ...]") from the location.
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and "[" in p))
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, PolicyValueError):  # a whole-policy check naming its key
            loc = cause.loc
        key = ".".join(str(p) for p in loc) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown key; {_valid_keys(loc)}"
        elif first["type"] == "missing":
            message = "required key is missing"
        if isinstance(first.get("input"), bool):
            message += " (YAML reads NO, yes, on, off as booleans: quote the value)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PolicyError(
            f"{key}: {message}{more}", file=source, line=_line_of(loc, lines)
        ) from None
    return LoadedPolicy(policy, source, hashlib.sha256(data).hexdigest(), text, lines)


@dataclass
class _Budget:
    """Limits of :func:`_construct`: a policy is small, so a recursive alias, deep nesting or an
    alias bomb is refused instead of exhausting the stack or the memory."""

    nodes: int = 0
    open: set[int] = field(default_factory=set)  # collection nodes being built (cycle check)

    MAX_NODES = 100_000
    MAX_DEPTH = 64


def _construct(
    node: yaml.Node,
    path: tuple[str | int, ...],
    lines: dict[tuple[str | int, ...], int],
    budget: _Budget,
) -> Any:
    """Build plain Python data from a YAML node tree, recording each key's line."""
    lines[path] = node.start_mark.line + 1
    where = ".".join(map(str, path)) or "(top level)"
    budget.nodes += 1
    if id(node) in budget.open or len(path) > budget.MAX_DEPTH or budget.nodes > budget.MAX_NODES:
        raise PolicyError(
            f"{where}: a recursive alias, or nesting too deep or too large for a policy",
            line=node.start_mark.line + 1,
        )
    if isinstance(node, yaml.MappingNode):
        budget.open.add(id(node))
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                raise PolicyError(
                    f"{'.'.join(map(str, (*path, key)))}: duplicate key",
                    line=key_node.start_mark.line + 1,
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, (*path, key), lines, budget)
            lines[(*path, key)] = key_node.start_mark.line + 1
        budget.open.discard(id(node))
        return out
    if isinstance(node, yaml.SequenceNode):
        budget.open.add(id(node))
        items = [_construct(item, (*path, i), lines, budget) for i, item in enumerate(node.value)]
        budget.open.discard(id(node))
        return items
    # Scalars: keep timestamps as text so that a missing offset is caught by our own parser.
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value
    # YAML 1.1 reads 016 as 14 (octal), 1:30 as 90 (base 60), 0x12 as 18: an age or a threshold
    # is written in plain decimal or refused.
    if node.tag == "tag:yaml.org,2002:int" and not _DECIMAL.fullmatch(str(node.value)):
        raise PolicyError(
            f"{where}: write the number {str(node.value)[:40]!r} in plain decimal (YAML would "
            "read it as octal, hexadecimal or base 60)",
            line=node.start_mark.line + 1,
        )
    try:
        return _SCALARS.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as exc:  # !!int abc, !!binary x, an unknown !tag
        raise PolicyError(
            f"{where}: cannot read {str(node.value)[:40]!r} as {node.tag}: {exc}"[:300],
            line=node.start_mark.line + 1,
        ) from None


_SCALARS = yaml.constructor.SafeConstructor()
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")


def _line_of(loc: tuple[Any, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    for n in range(len(loc), -1, -1):
        if tuple(loc[:n]) in lines:
            return lines[tuple(loc[:n])]
    return None


def _valid_keys(loc: tuple[Any, ...]) -> str:
    from tamis.policy import model

    parents: dict[str, type] = {
        "": model.Policy,
        "settings": model.Setting,
        "purposes": model.Purpose,
        "exclusions": model.Exclusions,
        "jurisdictions": model.Jurisdiction,
        "stages": model.StageSpec,
        "label": model.Localised,
        "description": model.Localised,
        "reason": model.Localised,
    }
    names = [p for p in loc[:-1] if isinstance(p, str)]
    cls: type[BaseModel] = model.Policy
    for part in reversed(names):
        if part in parents:
            cls = parents[part]
            break
    return f"valid keys here: {', '.join(cls.model_fields)}"
