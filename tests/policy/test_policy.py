"""Policy files: presets, validation errors that name line and key, diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamis.errors import PolicyError
from tamis.policy import diff_policies, load_policy, preset_names

PURPOSE = "genai.content_creation"


def test_presets_load_and_differ_in_scope() -> None:
    assert preset_names() == ["linkedin-2025", "minimal"]
    linkedin = load_policy("linkedin-2025").policy
    minimal = load_policy("minimal").policy
    assert set(linkedin.allowed_kinds(PURPOSE)) == {
        "post",
        "article",
        "comment",
        "search_query",
        "ai_prompt",
        "ai_feedback",
    }
    assert minimal.allowed_kinds(PURPOSE) == ("post", "article", "comment")
    assert minimal.allowed_profile_fields(PURPOSE) == ()
    assert minimal.purpose(PURPOSE).visibility == ("public",)
    # Never: messages and salary, whatever a purpose lists.
    for policy in (linkedin, minimal):
        assert "message" not in policy.allowed_kinds(PURPOSE)
        assert not policy.allows_category(PURPOSE, "user.financial.salary")
        assert not policy.allows_category(PURPOSE, "user.content.private_message")
    assert "salary" not in linkedin.allowed_profile_fields(PURPOSE)
    assert "phone" not in linkedin.allowed_profile_fields(PURPOSE)  # not in the announced scope


@pytest.mark.parametrize(
    ("country", "jurisdiction"),
    [
        ("FR", "eu-eea-ch-uk-ca-hk"),
        ("NO", "eu-eea-ch-uk-ca-hk"),
        ("GB", "eu-eea-ch-uk-ca-hk"),
        ("HK", "eu-eea-ch-uk-ca-hk"),
        ("US", "rest-of-world"),
        ("IN", "rest-of-world"),
        ("XX", None),
        (None, None),
    ],
)
def test_jurisdictions(country: str | None, jurisdiction: str | None) -> None:
    j = load_policy("linkedin-2025").policy.jurisdiction_for(country)
    assert (j.name if j else None) == jurisdiction


def test_sha256_is_of_the_exact_bytes(tmp_path: Path) -> None:
    preset = load_policy("minimal")
    copy = tmp_path / "p.yaml"
    copy.write_text(preset.text)
    assert load_policy(copy).sha256 == preset.sha256
    copy.write_text(preset.text + "\n# a comment changes the policy's identity\n")
    assert load_policy(copy).sha256 != preset.sha256


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = load_policy("minimal").text
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    visibility: [public]",
            "    visibility: [public, secret]",
            r"broken.yaml:\d+: purposes.genai.content_creation.visibility: "
            r"unknown visibility secret; valid: public",
        ),
        (
            "    categories: [user.content.post",
            "    categories: [user.content.poste",
            r"unknown category user.content.poste; valid: .*user.content.post",
        ),
        (
            "    minimum_age: 18",
            "    minimum_age: 18\n    minimun_age: 16",
            r"jurisdictions.0.minimun_age: unknown key; valid keys here: name, countries, start",
        ),
        (
            "start: 2025-11-03T00:00:00Z",
            "start: 2025-11-03T00:00:00",
            r"is not RFC 3339 with an offset",
        ),
        (
            "content_kinds: [post, article, comment]",
            "content_kinds: [post, message]",
            r"exclusions cannot be overridden",
        ),
        ('"NO"', "NO", r"quote the value"),
        (
            "    setting: genai_training",
            "    setting: genai",
            r"unknown setting 'genai'; settings: genai_training",
        ),
    ],
)
def test_validation_names_line_and_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected) as info:
        load_policy(_broken(tmp_path, old, new))
    assert info.value.line is not None


def test_line_number_points_at_the_key(tmp_path: Path) -> None:
    path = _broken(tmp_path, "    minimum_age: 18", "    minimum_age: -1")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert path.read_text().splitlines()[info.value.line - 1].strip() == "minimum_age: -1"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tamis_policy: 1\nname: [unclosed\n")
    with pytest.raises(PolicyError, match=r"bad.yaml:\d+: YAML syntax error"):
        load_policy(path)


def test_unknown_preset_lists_presets() -> None:
    with pytest.raises(PolicyError, match="presets: linkedin-2025, minimal"):
        load_policy("linkedin")


def test_diff_lists_exactly_the_categories_that_differ() -> None:
    linkedin = load_policy("linkedin-2025").policy
    minimal = load_policy("minimal").policy
    diff = diff_policies(linkedin, minimal)
    (purpose,) = diff.purposes
    assert purpose.categories_only_b == []
    assert set(purpose.categories_only_a) == set(linkedin.used_categories(PURPOSE)) - set(
        minimal.used_categories(PURPOSE)
    )
    assert "user.content.post" not in purpose.categories_only_a
    assert purpose.kinds_only_a == ["ai_feedback", "ai_prompt", "search_query"]
    assert diff.jurisdictions == []
    assert diff_policies(minimal, minimal).empty
