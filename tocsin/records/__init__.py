"""The records database: incidents and timelines kept long after Temporal's retention."""

from tocsin.records.metrics import TTA_BUCKETS, Histogram, MetricsSnapshot
from tocsin.records.migrate import migrate
from tocsin.records.store import RecordsStore

__all__ = ["TTA_BUCKETS", "Histogram", "MetricsSnapshot", "RecordsStore", "migrate"]
