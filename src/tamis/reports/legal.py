"""GDPR documents prefilled from the policy: record of processing (Art. 30), legitimate-interest
assessment (the three-part test) and a DPIA skeleton.

What the policy states (purpose, legal basis, categories, exclusions, jurisdictions, safeguards
actually enabled) is written in; what only a person can judge is left as a marked field
(:class:`~tamis.reports.document.Todo`). Given a snapshot, measured figures of that build are added,
each with its query, as in the compliance report.
"""

from __future__ import annotations

from pathlib import Path

from tamis.policy import diff_policies, load_policy
from tamis.policy.categories import ALL_CATEGORIES, covers
from tamis.policy.loader import LoadedPolicy
from tamis.reports.document import Document, Figures, Section, Table, Text, Todo
from tamis.reports.evidence import Evidence, Figure, FigureTable, open_evidence
from tamis.reports.notice import LEGAL_BASES, category_label, format_date, render_notice


class _Facts:
    """Policy facts and (optionally) measured figures shared by the three documents."""

    def __init__(self, policy: LoadedPolicy, evidence: Evidence | None, purpose: str | None):
        self.loaded = policy
        self.p = policy.policy
        self.purpose = purpose or (
            evidence.manifest["purpose"] if evidence else next(iter(self.p.purposes))
        )
        self.pp = self.p.purpose(self.purpose)
        self.ev = evidence
        self.figures: list[Figure | FigureTable] = []
        ref = policy.source.removeprefix("preset:")
        self.show = f"tamis policy show {ref}"
        self.ref = ref

    def _fig(self, key: str, label: str, value: object, cmd: str | None = None) -> Figure:
        if self.ev is not None:
            return self.ev.command(key, label, value, cmd or self.show)
        fig = Figure(key, label, value, cmd or self.show, "command", "", len(self.figures) + 1)
        self.figures.append(fig)
        return fig

    def _table(
        self, key: str, title: str, cols: tuple[str, ...], rows: list[tuple[object, ...]], cmd: str
    ) -> FigureTable:
        if self.ev is not None:
            return self.ev.command_table(key, title, cols, rows, cmd)
        tab = FigureTable(key, title, cols, tuple(rows), cmd, "command", len(self.figures) + 1)
        self.figures.append(tab)
        return tab

    def all_figures(self) -> list[Figure | FigureTable]:
        return list(self.ev.figures) if self.ev is not None else self.figures

    # --- shared blocks ----------------------------------------------------------------------
    def categories_table(self) -> Table:
        rows: list[tuple[object, ...]] = [
            (c, category_label(c, "en")) for c in self.p.used_categories(self.purpose)
        ]
        return Table(
            self._table(
                "policy.categories",
                "Categories of personal data used",
                ("category", "in plain words"),
                rows,
                self.show,
            )
        )

    def excluded_text(self) -> str:
        excluded = sorted(
            c for c in ALL_CATEGORIES if any(covers(x, c) for x in self.p.exclusions.categories)
        )
        kinds = ", ".join(self.p.exclusions.content_kinds) or "none"
        return (
            f"Never used, whatever a purpose lists: categories {', '.join(excluded)}; content "
            f"kinds {kinds}."
        )

    def jurisdictions_table(self) -> Table:
        rows: list[tuple[object, ...]] = [
            (
                j.name,
                "all other countries" if j.countries == "*" else ", ".join(j.countries),
                format_date(j.notice_from, "en"),
                format_date(j.start, "en"),
                "on (object to stop)" if j.default == "allow" else "off (opt in)",
                j.minimum_age,
            )
            for j in self.p.jurisdictions
        ]
        return Table(
            self._table(
                "policy.jurisdictions",
                "Data subjects' regions, notice and start dates",
                ("region", "countries", "notice from", "start", "default", "minimum age"),
                rows,
                self.show,
            )
        )

    def safeguards(self) -> list[str]:
        out = []
        for stage in self.pp.stages:
            opts = ", ".join(f"{k}={v}" for k, v in stage.options.items())
            out.append(f"text stage `{stage.name}` ({opts}): personal data in texts redacted")
        ages = sorted({j.minimum_age for j in self.p.jurisdictions})
        out += [
            "members are identified in training data only by a keyed pseudonym (HMAC-SHA256, "
            "128 bits); the key never leaves the controller",
            f"members under {'/'.join(map(str, ages))} and everything written before that age "
            "are excluded; unknown ages are excluded unless a region says otherwise",
            "objections are recorded in an append-only registry and honoured in every snapshot "
            "whose cutoff follows them, older data included",
            f"visibility limited to: {', '.join(self.pp.visibility)}",
            self.excluded_text(),
            "every snapshot has a manifest with hashes of every file and a Merkle commitment to "
            "the set of included members; `tamis snapshot verify` re-checks it",
        ]
        return out

    def risk_measures(self) -> list[tuple[object, ...]]:
        """The DPIA's risks with the measures *this* policy's purpose enables (none claimed
        that it does not enable)."""
        stages = list(self.pp.stages)
        memo = [f"text stage `{s.name}` redacts personal data in texts" for s in stages] or [
            "NO text stage: personal data in texts is not redacted"
        ]
        memo.append(
            "duplicate removal"
            if self.pp.dedup
            else "NO duplicate removal (a text repeated in the training data is memorised more)"
        )
        memo.append(
            "memorisation audit of each trained model: not enforced by the policy; run `tamis "
            "audit` and give its result to `tamis report compliance --audit`"
        )
        sensitive = [s.name for s in stages if s.options.get("sensitive") in ("drop", "redact")]
        special = [
            f"text stage `{n}` drops or redacts special-category data" for n in sensitive
        ] or ["NO sensitive-data stage: special-category data in texts is not detected"]
        special.append("excluded categories (see the processing description)")
        measures = {_MEMORISATION: "; ".join(memo), _SPECIAL: "; ".join(special)}
        return [(risk, measures.get(risk) or text) for risk, text in _RISKS]

    def measured(self) -> list[Figure]:
        ev = self.ev
        if ev is None:
            return []
        return [
            ev.manifest_int("measured.records", "records in the snapshot", "$.records.included"),
            ev.manifest_int("measured.members", "members with data", "$.members.included"),
            ev.manifest_int(
                "measured.objected",
                "members out because they objected",
                "$.members.excluded_by_reason.objected",
            ),
            ev.scalar(
                "measured.pii",
                "personal data spans redacted",
                "SELECT COALESCE(sum(t.value::BIGINT), 0)::BIGINT "
                "FROM manifest, json_each(m->'$.stage_counts') s, json_each(s.value) t",
            ),
        ]


def _header(f: _Facts, extra: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    rows = [
        ("controller", f.p.controller or "—"),
        ("policy", f"{f.p.name} {f.p.version}"),
        ("policy sha256", f.loaded.sha256),
        ("purpose", f.purpose),
        ("legal basis", LEGAL_BASES[f.pp.legal_basis][0]),
    ]
    if f.ev is not None:
        rows.append(("snapshot", f"{f.ev.manifest['snapshot_id']} ({f.ev.snapshot})"))
    return rows + (extra or [])


def _doc(kind: str, title: str, f: _Facts, sections: list[Section], command: str) -> Document:
    return Document(
        kind=kind,
        title=title,
        doc_id=f"tamis-{kind}/{f.p.name}/policy-{f.loaded.sha256[:12]}",
        header=_header(f),
        sections=sections,
        figures=f.all_figures(),
        prelude=list(f.ev.prelude) if f.ev is not None else [],
        command=command,
    )


def _open(
    policy: str | Path | None, snapshot: Path | None, registry: str | None
) -> tuple[LoadedPolicy, Evidence | None]:
    if snapshot is not None:
        ev = open_evidence(Path(snapshot), registry=registry, policy=policy)
        return ev.policy, ev
    if policy is None:
        raise ValueError("give a policy or a snapshot")
    return load_policy(policy), None


def ropa_report(
    policy: str | Path | None = None,
    *,
    snapshot: Path | None = None,
    purpose: str | None = None,
    command: str = "tamis report ropa",
) -> Document:
    """The record of processing activities (GDPR Art. 30(1)) for the policy's purpose."""
    loaded, ev = _open(policy, snapshot, None)
    try:
        f = _Facts(loaded, ev, purpose)
        notice_en = render_notice(loaded, "en", f.purpose)
        s = [
            Section("Controller and contacts").add(
                Text(f"Controller: **{f.p.controller or 'not stated in the policy'}**."),
                Todo("name and contact details of the controller's representative and the DPO"),
            ),
            Section("Purpose of the processing (Art. 30(1)(b))").add(
                Text(f"`{f.purpose}`: {f.pp.description.en}"),
                Text(f"Legal basis: {LEGAL_BASES[f.pp.legal_basis][0]}."),
            ),
            Section("Categories of data subjects and of personal data (Art. 30(1)(c))").add(
                Text(
                    "Data subjects: members of the platform whose country falls in a region "
                    "below, who have reached the region's minimum age and have not objected."
                ),
                f.jurisdictions_table(),
                f.categories_table(),
                Text(f.excluded_text()),
            ),
            Section("Recipients (Art. 30(1)(d))").add(
                Todo(
                    "who receives the training snapshots (internal teams, processors, model "
                    "providers), and under which contract"
                ),
            ),
            Section("Transfers to third countries (Art. 30(1)(e))").add(
                Todo("transfers outside the EEA and their safeguards (adequacy, SCCs)"),
            ),
            Section("Time limits for erasure (Art. 30(1)(f))").add(
                Text(
                    "Each snapshot is fixed at its cutoff; an objection or erasure takes effect "
                    "in every later snapshot."
                ),
                Todo("how long snapshots and models trained on them are kept"),
            ),
            Section("Technical and organisational measures (Art. 30(1)(g), Art. 32)").add(
                Text("\n".join(f"- {x}" for x in f.safeguards())),
                Text(f"Members' notice: version `{notice_en.version}` (EN and FR)."),
            ),
        ]
        measured = f.measured()
        if measured:
            s.append(Section("Measured in the snapshot").add(Figures(tuple(measured))))
        return _doc("ropa", f"Record of processing (GDPR Art. 30): {f.purpose}", f, s, command)
    finally:
        if ev is not None:
            ev.close()


def lia_report(
    policy: str | Path | None = None,
    *,
    snapshot: Path | None = None,
    purpose: str | None = None,
    command: str = "tamis report lia",
) -> Document:
    """The legitimate-interest assessment: purpose, necessity and balancing tests."""
    loaded, ev = _open(policy, snapshot, None)
    try:
        f = _Facts(loaded, ev, purpose)
        minimal = load_policy("minimal").policy
        diff = diff_policies(f.p, minimal)
        pdiff = next((d for d in diff.purposes if d.purpose == f.purpose), None)
        beyond = pdiff.categories_only_a if pdiff else []
        diff_rows: list[tuple[object, ...]] = [(c, category_label(c, "en")) for c in beyond]
        diff_table = Table(
            f._table(
                "lia.beyond_minimal",
                f"Categories used beyond the minimal preset ({len(beyond)})",
                ("category", "in plain words"),
                diff_rows,
                f"tamis policy diff {f.ref} minimal",
            )
        )
        notice_days = [
            (j.name, (j.start - j.notice_from).days if j.notice_from else None)
            for j in f.p.jurisdictions
        ]
        s = [
            Section("Purpose test: is there a legitimate interest?").add(
                Text(f"Purpose as stated in the policy: {f.pp.description.en}"),
                Todo(
                    "the interest pursued (the controller's, or a third party's), why it is "
                    "lawful, and why it is real and present rather than speculative"
                ),
                Todo("the benefits to members and to others"),
            ),
            Section("Necessity test: is the processing necessary for it?").add(
                Text(
                    "Scope compared with the `minimal` preset (public posts, articles and "
                    "comments only): the categories below are used beyond it."
                ),
                diff_table,
                f.categories_table(),
                Todo(
                    "for each category beyond minimal: why the purpose cannot be achieved "
                    "without it, or with less"
                ),
            ),
            Section("Balancing test: do members' interests override it?").add(
                Text("Safeguards actually enabled by this policy:"),
                Text("\n".join(f"- {x}" for x in f.safeguards())),
                f.jurisdictions_table(),
                Text(
                    "Days of notice before the start: "
                    + "; ".join(
                        f"{n}: {d if d is not None else 'no notice date'}" for n, d in notice_days
                    )
                    + f" (`{f.show}`)."
                ),
                Todo(
                    "members' reasonable expectations (what they published, to whom, when; "
                    "the notice period above)"
                ),
                Todo(
                    "the likely impact on members, including memorisation and regurgitation "
                    "by the trained models, and its severity"
                ),
                Todo("conclusion: does the legitimate interest prevail, given these safeguards?"),
            ),
        ]
        measured = f.measured()
        if measured:
            s.append(Section("Measured in the snapshot").add(Figures(tuple(measured))))
        return _doc("lia", f"Legitimate-interest assessment: {f.purpose}", f, s, command)
    finally:
        if ev is not None:
            ev.close()


_MEMORISATION = "Memorisation and regurgitation of personal data by the trained model"
_SPECIAL = "Special-category data (health, religion, politics, ...)"
_RISKS = (
    (_MEMORISATION, ""),
    (
        "Use of a member's data after an objection",
        "append-only registry; as-of state at the cutoff; reconciliation in the compliance report",
    ),
    ("Data of minors", "minimum age per region; records written while a minor stay out"),
    (_SPECIAL, ""),
    (
        "Re-identification of members from training data",
        "keyed pseudonyms; no member ids; profile records carry no identifier",
    ),
    ("Private messages", "content kind `message` is never used, by any purpose"),
)


def dpia_report(
    policy: str | Path | None = None,
    *,
    snapshot: Path | None = None,
    purpose: str | None = None,
    command: str = "tamis report dpia",
) -> Document:
    """A DPIA skeleton (GDPR Art. 35(7)): description, necessity, risks and measures."""
    loaded, ev = _open(policy, snapshot, None)
    try:
        f = _Facts(loaded, ev, purpose)
        risks = Table(
            f._table(
                "dpia.risks",
                "Risks and the measures this policy enables",
                ("risk", "measures in place"),
                f.risk_measures(),
                f.show,
            )
        )
        s = [
            Section("Systematic description of the processing (Art. 35(7)(a))").add(
                Text(
                    f"`{f.purpose}`: {f.pp.description.en} Legal basis: "
                    f"{LEGAL_BASES[f.pp.legal_basis][0]}."
                ),
                f.categories_table(),
                f.jurisdictions_table(),
                Todo("the models trained, where, by whom, and for how long data is kept"),
            ),
            Section("Necessity and proportionality (Art. 35(7)(b))").add(
                Text("See the legitimate-interest assessment (`tamis report lia`)."),
                Todo("assessment of necessity and proportionality"),
            ),
            Section("Risks to the rights and freedoms of data subjects (Art. 35(7)(c))").add(
                risks,
                Todo("likelihood and severity of each risk, before and after the measures"),
            ),
            Section("Measures to address the risks (Art. 35(7)(d))").add(
                Text("\n".join(f"- {x}" for x in f.safeguards())),
                Todo("further measures planned, owners and dates"),
            ),
            Section("Consultation and sign-off").add(
                Todo("the DPO's advice (Art. 35(2)) and, where sought, data subjects' views"),
                Todo("residual risk and whether prior consultation (Art. 36) is needed"),
            ),
        ]
        measured = f.measured()
        if measured:
            s.append(Section("Measured in the snapshot").add(Figures(tuple(measured))))
        return _doc(
            "dpia", f"Data protection impact assessment (skeleton): {f.purpose}", f, s, command
        )
    finally:
        if ev is not None:
            ev.close()
