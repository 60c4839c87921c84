"""Prometheus metrics of one server: GraphQL requests, their latency, and store round trips."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from .store.base import GraphStore


class _StoreCollector(Collector):
    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("metalgraph_store_round_trips", "Store round trips since start", labels=["store"])
        family.add_metric([self.store.kind], self.store.round_trips_total)
        yield family


class Metrics:
    def __init__(self, store: GraphStore) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "metalgraph_graphql_requests",
            "GraphQL HTTP requests by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "metalgraph_graphql_request_seconds",
            "GraphQL HTTP request latency",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.round_trips = Histogram(
            "metalgraph_graphql_store_round_trips",
            "Store round trips per GraphQL request",
            buckets=(0, 1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(store))
