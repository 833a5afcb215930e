"""The records database: incidents and timelines kept long after Temporal's retention."""

from adapters.records.metrics import TTA_BUCKETS, Histogram, MetricsSnapshot
from adapters.records.migrate import migrate
from adapters.records.store import RecordsStore

__all__ = ["TTA_BUCKETS", "Histogram", "MetricsSnapshot", "RecordsStore", "migrate"]
