"""Built-in detectors; importing this package registers them in :data:`tamis.pii.base.detectors`."""

from __future__ import annotations

from tamis.pii.builtin import (  # noqa: F401  (registration side effects)
    address,
    contact,
    dob,
    finance,
    identity,
    names,
    web,
)
