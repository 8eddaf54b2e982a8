"""Prometheus metrics. Under gunicorn (PROMETHEUS_MULTIPROC_DIR set by ``serve``) the
request counters of every worker are summed; log and projection gauges are read from the
database at scrape time, so they are the same whichever worker answers."""
from __future__ import annotations

import os
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class DatabaseGauges:
    def __init__(self, read: Callable[[], tuple]):
        """``read``: (log head, position per projection[, quarantined events per projection])."""
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            head, positions, *more = self.read()
        except Exception:  # noqa: BLE001 - a scrape must not fail when the database is down
            up = GaugeMetricFamily("audit_database_up", "1 if the database answered")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("audit_database_up", "1 if the database answered")
        up.add_metric([], 1)
        yield up
        g = GaugeMetricFamily("audit_log_head_position", "highest notification id in the log")
        g.add_metric([], head)
        yield g
        pos = GaugeMetricFamily("audit_projection_position", "tracked position per projection",
                                labels=["projection"])
        lag = GaugeMetricFamily("audit_projection_lag_events", "events not yet projected",
                                labels=["projection"])
        for name, p in sorted(positions.items()):
            pos.add_metric([name], p)
            lag.add_metric([name], max(0, head - p))
        yield pos
        yield lag
        quarantined = more[0] if more else {}
        aside = GaugeMetricFamily("audit_projection_quarantined_events",
                                  "events a projection could not apply, set aside",
                                  labels=["projection"])
        for name in sorted(set(positions) | set(quarantined)):
            aside.add_metric([name], quarantined.get(name, 0))
        yield aside


class Metrics:
    def __init__(self, read_gauges: Callable[[], tuple[int, dict[str, int]]]):
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self._own = CollectorRegistry()
        registry = None if self.multiprocess else self._own
        self.requests = Counter("audit_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("audit_http_request_duration_seconds", "time to answer",
                                 ["method", "route"], buckets=BUCKETS, registry=registry)
        self.gauges = DatabaseGauges(read_gauges)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def registry(self) -> CollectorRegistry:
        if not self.multiprocess:
            if not getattr(self, "_gauges_registered", False):
                self._own.register(self.gauges)
                self._gauges_registered = True
            return self._own
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(self.gauges)
        return registry
