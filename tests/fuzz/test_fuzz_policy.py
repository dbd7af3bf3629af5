"""Fuzzing the policy loader: mutated presets, hostile YAML (tags, aliases, deep nesting) and
random bytes give a policy or a PolicyError, never another exception
(oracle: :func:`tamis_fuzz.check_policy`)."""

from __future__ import annotations

from importlib import resources

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tamis_fuzz import budget, check_policy, count

FUZZ = settings(
    max_examples=budget(),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

PRESETS = {
    name: resources.files("tamis.policy.presets").joinpath(f"{name}.yaml").read_text()
    for name in ("minimal", "linkedin-2025")
}

# Snippets that a hostile or careless policy author could write where a value goes.
HOSTILE = [
    "!!python/object/apply:os.system ['true']",
    "!!binary not-base64",
    "!!int abc",
    "!!float x",
    "!!timestamp 2025-13-45",
    "!!map [1, 2]",
    "!!set {a}",
    "!!omap [a]",
    "!!str",
    "!custom value",
    "&a [*a]",
    "*undefined",
    "{? [a, b]: c}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "2025-11-03T00:00:00",
    "2025-11-03",
    "NO",
    "~",
    ".nan",
    "-.inf",
    "0x1F",
    "1e999",
    "9" * 400,
    "'unterminated",
    '"\\uD800"',
    "\t",
    "|",
    ">-",
    "'\x00'",
    "- - -",
    "{a: 1, a: 2}",
]


@st.composite
def mutated_presets(draw: st.DrawFn) -> bytes:
    lines = PRESETS[draw(st.sampled_from(sorted(PRESETS)))].splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "delete", "duplicate", "indent", "insert", "cut"]))
        line = lines[at]
        if action == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(HOSTILE) | st.text(max_size=12))}"
        elif action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, line)
        elif action == "indent":
            lines[at] = draw(st.sampled_from([" ", "  ", "\t", ""])) + line.lstrip()
        elif action == "insert":
            lines.insert(at, draw(st.sampled_from(HOSTILE) | st.text(max_size=20)))
        else:
            lines[at] = line[: draw(st.integers(0, len(line)))]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@FUZZ
@given(mutated_presets())
@example(b"a: &a [*a]\n")  # a recursive alias
@example(b"a: !!python/object/apply:os.system ['true']\n")
@example(b"tamis_policy: !!binary not-base64\n")
@example(b"tamis_policy: !custom 1\n")
@example(b"a: !!int abc\n")
@example(b"[" * 5000 + b"]" * 5000)
def test_mutated_policies(data: bytes) -> None:
    count("policy.mutated")
    check_policy(data)


@FUZZ
@given(
    st.binary(max_size=300)
    | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_random_policy_bytes(data: bytes) -> None:
    count("policy.bytes")
    check_policy(data)


def test_presets_still_load() -> None:
    for text in PRESETS.values():
        assert check_policy(text.encode())
