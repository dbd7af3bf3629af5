"""The objection sweeper: objections made with the settings switch become Art. 21 requests.

The switch's writes are batched for throughput (:mod:`.writer`): an objection made with it is
recorded as a choice (a consent event), with no request and no impact. One daemon thread sweeps
such choices into answered requests with their impact, the models trained on snapshots holding
the member's data queued for the DPO (:meth:`tamis.rights.RightsDesk.sweep_objection_choices`,
what ``tamis rights sweep`` runs). It sweeps when it starts, when woken after an objection is
committed (:meth:`ObjectionSweeper.wake`: the request path sets an event and never waits), and
every ``interval_s`` seconds, for objections recorded beside the service (``tamis consent
import``, ``tamis consent set``). Each sweep resumes where the last one got to.

It gives way to the switch's writer (``writer``). Its write transactions are short (``batch``
objections, about a millisecond each) and hold the writer's lock
(:attr:`.writer.GroupCommitWriter.lock`; not while it looks for events), so that a switch's
write that comes meanwhile waits for it on that lock, woken at once, never in SQLite's busy
handler. After a batch during which the writer committed or came to wait for the lock, it rests
long enough to take about ``duty`` of the time; when events wait in the writer's queue after it
(the switch is saturated), long enough to take a fifth of that. A backlog built under load
(some ten objections a second are swept while the switch is busy, a few while it is saturated)
is swept at full speed once the load eases. A failed sweep is logged, and tried again at the
next wake.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tamis.consent.registry import ConsentRegistry
    from tamis.keys import KeyRing, PseudonymKey
    from tamis.rights import RightsDesk
    from tamis.service.writer import GroupCommitWriter

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 30.0
SWEEP_BATCH = 2  # objections a transaction: a switch's write that comes meanwhile waits for it
SWEEP_DUTY = 0.05  # the share of the time the sweeper takes while the switch is busy
SATURATED = 5  # ... divided by this while events are queued for the writer


class ObjectionSweeper:
    """One thread that sweeps objection choices into requests; see the module docstring.

    ``writer``: the switch's writer, to which the sweeper gives way (None: nobody to give way
    to, as in a process of its own). ``setting``: the service's, whose objections it sweeps.
    """

    def __init__(
        self,
        registry: ConsentRegistry,
        keys: KeyRing | PseudonymKey,
        *,
        interval_s: float = SWEEP_INTERVAL_S,
        batch: int = SWEEP_BATCH,
        duty: float = SWEEP_DUTY,
        writer: GroupCommitWriter | None = None,
        setting: str = "genai_training",
    ) -> None:
        if interval_s <= 0 or batch < 1 or not 0 < duty <= 1:
            raise ValueError("interval_s > 0, batch >= 1 and 0 < duty <= 1")
        self._registry = registry
        self._keys = keys
        self.interval_s = interval_s
        self._batch = batch
        self._rest = (1 - duty) / duty
        self._saturated_rest = (1 - duty / SATURATED) / (duty / SATURATED)
        self._writer = writer
        self._setting = setting  # the service's: objections to it are swept
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.through = 0  # every objection up to this consent event seq is swept
        self.requests = 0  # requests recorded since the start
        self.sweeps = 0  # sweeps completed since the start

    def start(self) -> None:
        """Start the thread; it sweeps at once (what was left from before), then on each wake."""
        self._stop.clear()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tamis-sweeper", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Ask for a sweep soon (an objection was committed); returns at once."""
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (after the transaction in progress, if any) and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        from tamis.rights import RightsDesk  # here: importing the service does not load rights

        desk = RightsDesk(self._registry, self._keys, self._setting)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._sweep(desk)
            except Exception:
                log.warning(
                    "sweeping objection choices into requests failed; trying again in %g s "
                    "or at the next objection",
                    self.interval_s,
                    exc_info=True,
                )
            self._wake.wait(self.interval_s)

    def _sweep(self, desk: RightsDesk) -> None:
        started, load = time.monotonic(), self._load()
        lock = None if self._writer is None else self._writer.lock
        for tally in desk.sweep_objection_choices(self._batch, after=self.through, lock=lock):
            self.through = tally.through
            self.requests += tally.requests
            if tally.requests:
                log.info(
                    "%d objection choice(s) recorded as requests, %d model(s) queued",
                    tally.requests,
                    tally.models_queued,
                )
            if self._stop.is_set():
                return
            # a rest is no longer than an interval (a first sweep reads the whole log: long)
            took = time.monotonic() - started
            writer = self._writer
            if writer is not None and writer.behind:  # saturated: leave it the process
                self._stop.wait(min(took * self._saturated_rest, self.interval_s))
            elif self._load() != load or (writer is not None and writer.waiting):
                self._stop.wait(min(took * self._rest, self.interval_s))  # leave it the lock
            started, load = time.monotonic(), self._load()
        self.sweeps += 1

    def _load(self) -> int:
        return 0 if self._writer is None else self._writer.stats.committed
