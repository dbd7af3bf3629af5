"""atheris: bytes as a policy file; a policy or a PolicyError, nothing else."""

from __future__ import annotations

from _common import run
from tamis_fuzz import check_policy, count


def target(data: bytes) -> None:
    count("atheris.policy")
    check_policy(data)


if __name__ == "__main__":
    run(target)
