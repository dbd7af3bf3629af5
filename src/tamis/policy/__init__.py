"""Policy as code: purposes, data categories, exclusions and jurisdictions in a versioned file."""

from tamis.policy.diff import PolicyDiff, diff_policies
from tamis.policy.loader import LoadedPolicy, load_policy, parse_policy, preset_names
from tamis.policy.model import Jurisdiction, Policy, Purpose

__all__ = [
    "Jurisdiction",
    "LoadedPolicy",
    "Policy",
    "PolicyDiff",
    "Purpose",
    "diff_policies",
    "load_policy",
    "parse_policy",
    "preset_names",
]
