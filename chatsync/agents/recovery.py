"""Table recovery that seeks the stream partitions before any of their records is fetched.

After a restart that must restore tables from their changelogs, faust-streaming 0.15 reads the
changelogs with the flow resumed and the fetcher running, and then, in
``Recovery.on_recovery_completed``, resumes the stream partitions *before* it seeks them to their
committed offsets. Records fetched in that window are processed, then fetched again after the
seek, and a few of them are never acknowledged: their partition's offsets stop being committed
for good (the worker keeps processing, but its consumer lag never falls and every restart
re-processes the whole tail). Without a restore the fetcher only starts after the seek, which is
why the bug shows only when the RocksDB tables are missing or behind their changelogs (a new host,
or some unclean stops: kill -9, OOM).

``SeekFirstRecovery`` stops the flow before Faust resumes the stream partitions, so nothing is
fetched from them until they are seeked; Faust's own ``on_recovery_completed`` then seeks and
resumes the flow, exactly as on the path without a restore. Used through ``TableManager``, the
class Faust lets an app replace (``create_worker_app``).
"""

from __future__ import annotations

from faust.tables import TableManager
from faust.tables.recovery import Recovery


class SeekFirstRecovery(Recovery):
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        self.app.flow_control.suspend()
        self.app.consumer.stop_flow()
        await super().on_recovery_completed(generation_id)


class SeekFirstTableManager(TableManager):
    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
