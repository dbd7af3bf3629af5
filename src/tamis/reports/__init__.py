"""Compliance evidence generated from the policy and the measurements that drove a build.

- :func:`compliance_report`: one document per snapshot (information, right to object,
  minimisation, technical measures, plots), every figure with the query that reproduces it;
- :func:`ropa_report`, :func:`lia_report`, :func:`dpia_report`: the GDPR Art. 30 record, the
  legitimate-interest assessment and a DPIA skeleton, prefilled from the policy, with the human
  judgements left as marked fields;
- :func:`render_notice`: the members' notice (EN/FR) from the policy.

Each returns a :class:`Document`; ``Document.write(path)`` writes HTML and Markdown. matplotlib and
Jinja2 are imported on use (``pip install 'tamis[reports]'``).
"""

from __future__ import annotations

from tamis.reports.compliance import ComplianceOptions, compliance_report
from tamis.reports.document import Document
from tamis.reports.evidence import Evidence, Figure, FigureTable, open_evidence
from tamis.reports.legal import dpia_report, lia_report, ropa_report
from tamis.reports.notice import Notice, render_notice

__all__ = [
    "ComplianceOptions",
    "Document",
    "Evidence",
    "Figure",
    "FigureTable",
    "Notice",
    "compliance_report",
    "dpia_report",
    "lia_report",
    "open_evidence",
    "render_notice",
    "ropa_report",
]
