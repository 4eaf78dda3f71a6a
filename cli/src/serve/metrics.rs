//! `/metrics`: Prometheus (OpenMetrics) text via `prometheus-client`. Requests are labelled by
//! route *template* (never a raw path: no uuid, no journey id in a label), method and status.

use std::sync::atomic::AtomicU64;

use cee_eligibility::Stats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    kind: &'static str,
    journey_type: &'static str,
}

fn latency_histogram() -> Histogram {
    // 50 µs .. ~1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub connections: Gauge,
    pub tokens: Gauge,
    applications: Family<AppLabels, Gauge>,
    deleted: Gauge,
    journeys: Gauge,
    journal: Gauge,
    pseudonyms: Gauge,
    index_entries: Gauge,
    size_on_disk: Gauge<u64, AtomicU64>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cee");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from request head to response, by route template",
            latency.clone(),
        );
        let connections = Gauge::default();
        registry.register("http_connections", "Open connections", connections.clone());
        let tokens = Gauge::default();
        registry.register("tokens", "Known bearer tokens", tokens.clone());
        let applications = Family::<AppLabels, Gauge>::default();
        registry.register(
            "applications",
            "Active applications in the registry, by kind and journey type",
            applications.clone(),
        );
        let deleted = Gauge::default();
        registry.register("deleted_applications", "Tombstones", deleted.clone());
        let journeys = Gauge::default();
        registry.register("journeys", "Stored journeys", journeys.clone());
        let journal = Gauge::default();
        registry.register("journal_entries", "Error journal entries", journal.clone());
        let pseudonyms = Gauge::default();
        registry.register(
            "index_pseudonyms",
            "Pseudonyms in the in-memory index",
            pseudonyms.clone(),
        );
        let index_entries = Gauge::default();
        registry.register(
            "index_entries",
            "Entries in the in-memory index",
            index_entries.clone(),
        );
        let size_on_disk = Gauge::<u64, AtomicU64>::default();
        registry.register_with_unit(
            "size_on_disk",
            "Registry size on disk",
            prometheus_client::registry::Unit::Bytes,
            size_on_disk.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            connections,
            tokens,
            applications,
            deleted,
            journeys,
            journal,
            pseudonyms,
            index_entries,
            size_on_disk,
        }
    }

    /// Counts one answered request.
    pub fn observe(&self, route: &'static str, method: &'static str, status: u16, secs: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(secs);
    }

    /// The text exposition, registry gauges set from `stats`.
    pub fn render(&self, stats: &Stats) -> Result<String, std::fmt::Error> {
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        for (kind, (short, long)) in [
            ("specific", stats.specific),
            ("standardized", stats.standardized),
        ] {
            for (journey_type, n) in [("short", short), ("long", long)] {
                self.applications
                    .get_or_create(&AppLabels { kind, journey_type })
                    .set(gauge(n));
            }
        }
        self.deleted.set(gauge(stats.deleted));
        self.journeys.set(gauge(stats.journeys));
        self.journal.set(gauge(stats.journal));
        self.pseudonyms.set(gauge(stats.index.0 as u64));
        self.index_entries.set(gauge(stats.index.1 as u64));
        self.size_on_disk.set(stats.size_on_disk);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
