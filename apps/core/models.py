from django.db import models


class SchedulerHeartbeat(models.Model):
    """When a worker last ran the heartbeat that beat enqueues: one row, proof that beat, broker and worker work.

    Kept in the database, not the cache: in the embedded mode each process has its own cache.
    """

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    ticked_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="core_scheduler_heartbeat_singleton")]

    def __str__(self) -> str:
        return f"scheduler ticked at {self.ticked_at:%Y-%m-%d %H:%M:%S}"
