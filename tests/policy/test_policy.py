"""Policy files: presets, validation errors that name line and key, diffs."""

from __future__ import annotations

import subprocess
import sys
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


@pytest.mark.parametrize(
    ("old", "new", "expected", "at"),
    [
        # the data contract's exclusions cannot be left out of a policy
        (
            "  categories: [user.content.private_message, user.financial, user.authentication]",
            "  categories: [user.content.private_message, user.authentication]",
            r"exclusions.categories: the exclusions must keep out user.financial",
            "categories: [user.content.private_message, user.authentication]",
        ),
        (
            "  content_kinds: [message]",
            "  content_kinds: []",
            r"must keep out content kind message",
            "content_kinds: []",
        ),
        # no redaction stage: the text would go out as written
        (
            "    stages:\n      - name: pii.redact.v1\n"
            "        options: {mode: fast, anonymizer: pseudonym, sensitive: drop, "
            "members: export}\n",
            "    stages: []\n",
            r"purposes.genai.content_creation.stages: .*at least 1 item",
            "stages: []",
        ),
        # YAML 1.1 reads 016 as 14 and `true` as a boolean: neither is an age
        ("    minimum_age: 18", "    minimum_age: 016", r"plain decimal", "minimum_age: 016"),
        ("    minimum_age: 18", "    minimum_age: 1:30", r"plain decimal", "minimum_age: 1:30"),
        ("    minimum_age: 18", "    minimum_age: true", r"valid integer", "minimum_age: true"),
        # consent must be given: no jurisdiction may default to allow
        (
            "    legal_basis: legitimate_interest",
            "    legal_basis: consent",
            r"rests on consent.*cannot default to allow",
            "legal_basis: consent",
        ),
        # whole-policy checks name the key at fault, not the top of the file
        (
            "countries: [AT, BE,",
            "countries: [FR, AT, BE,",
            r"country FR is listed twice in eu-eea-ch-uk-ca-hk",
            "countries: [FR, AT, BE, BG, HR, CY, CZ, DK, EE, FI, FR, DE, GR, HU, IE, IT, LV, LT, "
            "LU, MT, NL,",
        ),
    ],
)
def test_contract_and_whole_policy_checks(
    tmp_path: Path, old: str, new: str, expected: str, at: str
) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(PolicyError, match=expected) as info:
        load_policy(path)
    assert str(path) in str(info.value)
    assert path.read_text().splitlines()[info.value.line - 1].strip() == at


def test_visibility_left_out_means_public_only(tmp_path: Path) -> None:
    policy = load_policy(_broken(tmp_path, "    visibility: [public]\n", "")).policy
    assert policy.purpose(PURPOSE).visibility == ("public",)


def test_eu_regions_with_codes_of_their_own_start_with_the_eu() -> None:
    for preset in ("linkedin-2025", "minimal"):
        policy = load_policy(preset).policy
        eu = policy.jurisdiction_for("FR")
        for code in ("RE", "GP", "MQ", "GF", "YT", "MF", "AX"):
            assert policy.jurisdiction_for(code) == eu, (preset, code)


def test_a_preset_name_means_the_preset_whatever_lies_in_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "minimal").mkdir()  # e.g. a snapshot built with --out minimal
    assert load_policy("minimal").source == "preset:minimal"
    (tmp_path / "linkedin-2025").write_text("tamis_policy: 1\n")
    assert load_policy("linkedin-2025").source == "preset:linkedin-2025"
    with pytest.raises(PolicyError, match="not a policy file"):
        load_policy("./minimal")
    with pytest.raises(PolicyError, match="TOML is not read"):
        load_policy("policy.toml")


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


def test_diff_sees_what_changes_a_snapshot_beyond_categories(tmp_path: Path) -> None:
    """It said 'no difference in scope' when the governing setting or the redaction changed,
    and a renamed jurisdiction hid its minimum age going from 18 to 13."""
    minimal = load_policy("minimal").policy
    text = load_policy("minimal").text
    for old, new in [
        ("    setting: genai_training", "    setting: genai_training_v2"),
        ("settings:\n  genai_training:", "settings:\n  genai_training_v2:"),
        ("anonymizer: pseudonym, sensitive: drop,", "anonymizer: pseudonym,"),
        ("  - name: eu-eea-ch-uk-ca-hk", "  - name: europe-and-more"),
        ("minimum_age: 18", "minimum_age: 13"),  # the first rule: the EU's
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "changed.yaml"
    path.write_text(text)
    diff = diff_policies(minimal, load_policy(path).policy)
    (purpose,) = diff.purposes
    assert {what for what, _a, _b in purpose.changes} == {"setting", "stages"}
    rows = {(attr, a, b): countries.split(", ") for countries, attr, a, b in diff.jurisdictions}
    assert list(rows) == [("minimum_age", "18", "13")]  # the rename itself is no difference
    assert {"FR", "RE", "CA"} <= set(rows[("minimum_age", "18", "13")])
    assert not diff.empty and diff_policies(minimal, minimal).empty


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("name: pii.redact.v1", "name: pii.redakt.v1", r"stages.0: unknown stage 'pii.redakt.v1'"),
        ("sensitive: drop", "sensitve: drop", r"unknown option\(s\) sensitve"),
        ("sensitive: drop", "sensitive: dorp", r"unknown sensitive option 'dorp'"),
        ("mode: fast", "mode: fastest", r"unknown PII mode 'fastest'"),
        ("dedup: {exact: true", "dedup: {exakt: true", r"dedup: .*unknown key\(s\) exakt"),
        ("members: export", "members: exprot", r"members 'exprot' is neither export nor"),
    ],
)
def test_validate_checks_stages_as_a_build_reads_them(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    """`policy validate` said valid for a misspelt stage, option or value that the build then
    refused; it now builds the stages as a build does, reading no data."""
    from tamis.pipeline.build import check_stages

    path = _broken(tmp_path, old, new)
    with pytest.raises(PolicyError, match=expected) as info:
        check_stages(load_policy(path))
    assert info.value.line is not None
    named = path.read_text().splitlines()[info.value.line - 1].strip()
    # the line of the stage at fault (its "- name:" line), or of the dedup key
    assert named.startswith("dedup:" if "dedup" in str(info.value) else "- name:")
    result = subprocess.run(
        [sys.executable, "-m", "tamis.cli", "policy", "validate", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    check_stages(load_policy("minimal"))
    check_stages(load_policy("linkedin-2025"))


def test_excluding_every_category_of_a_contract_group_is_excluding_the_group(
    tmp_path: Path,
) -> None:
    """user.financial.salary is the only financial category: excluding it keeps salary out as
    well as excluding user.financial does."""
    path = _broken(tmp_path, "user.financial, user.authentication]",
                   "user.financial.salary, user.authentication]")  # fmt: skip
    assert not load_policy(path).policy.allows_category(PURPOSE, "user.financial.salary")
