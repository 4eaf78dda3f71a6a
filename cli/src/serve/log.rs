//! JSON log lines on stderr with a field allow-list (SPEC §11.4).
//!
//! One JSON object per line: `time`, `level`, `target`, then the event's fields — only the
//! names in [`ALLOWED`]; any other field is dropped, so a phone, name, licence, identity key or
//! token can never reach a log line even if some code were to record one. Span fields are
//! never printed. Lines are formatted straight into a per-thread buffer and appended to a
//! shared one that a writer thread drains every few milliseconds, so a request never waits on
//! stderr (if stderr stalls, lines beyond 8 MiB are dropped and counted, never queued without
//! bound).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The only field names that may appear in a log line.
pub const ALLOWED: &[&str] = &[
    "message",
    "event",
    "request_id",
    "route",
    "method",
    "operator_id",
    "status",
    "duration_ms",
    "peer",
    "addr",
    "error",
    "tokens",
    "tls",
    "max_connections",
    "algorithm",
    "disabled",
    "deadline_secs",
    "start_date",
    "end_date",
    "delay_days",
    "dropped_lines",
];

/// Most bytes waiting for the writer.
const MAX_PENDING: usize = 8 * 1024 * 1024;

/// What the layer and the writer thread share.
struct Sink {
    pending: Mutex<Vec<u8>>,
    dropped: AtomicU64,
    stop: AtomicBool,
}

/// The JSON-lines layer.
pub struct JsonLines {
    max_level: Level,
    sink: Arc<Sink>,
}

/// Stops the writer thread, after it wrote every pending line, when dropped.
pub struct Guard {
    sink: Arc<Sink>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.sink.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Installs the JSON-lines subscriber for `max_level` and above.
///
/// # Errors
/// When a global subscriber is already installed.
pub fn init(max_level: Level) -> crate::Result<Guard> {
    use tracing_subscriber::layer::SubscriberExt as _;
    let sink = Arc::new(Sink {
        pending: Mutex::new(Vec::with_capacity(64 * 1024)),
        dropped: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let writer = Arc::clone(&sink);
    let thread = std::thread::Builder::new()
        .name("cee-log".into())
        .spawn(move || write_lines(&writer))?;
    let layer = JsonLines {
        max_level,
        sink: Arc::clone(&sink),
    };
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .map_err(|e| format!("cannot install the logger: {e}"))?;
    Ok(Guard {
        sink,
        thread: Some(thread),
    })
}

/// Drains the shared buffer to stderr every few milliseconds until asked to stop.
fn write_lines(sink: &Sink) {
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let stopping = sink.stop.load(Ordering::SeqCst);
        if let Ok(mut p) = sink.pending.lock() {
            std::mem::swap(&mut *p, &mut out);
        }
        if !out.is_empty() {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(&out);
            let _ = stderr.flush();
            out.clear();
        }
        let dropped = sink.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let line = format!(
                "{{\"time\":\"{}\",\"level\":\"warn\",\"target\":\"cee::log\",\"event\":\"log_lines_dropped\",\"dropped_lines\":{dropped}}}\n",
                now()
            );
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        if stopping {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Now as `YYYY-MM-DDTHH:MM:SS.sssZ`.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Appends `s` as a JSON string.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes the allowed fields of an event as `,"name":value`.
struct Fields<'a>(&'a mut String);

impl Fields<'_> {
    fn key(&mut self, field: &Field) -> bool {
        if !ALLOWED.contains(&field.name()) {
            return false;
        }
        self.0.push(',');
        push_str(self.0, field.name());
        self.0.push(':');
        true
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field) {
            push_str(self.0, value);
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            let _ = write!(self.0, "{value}");
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            let _ = write!(self.0, "{value}");
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.key(field) {
            if value.is_finite() {
                let _ = write!(self.0, "{value:.3}");
            } else {
                self.0.push_str("null");
            }
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.0.push_str(if value { "true" } else { "false" });
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if self.key(field) {
            let text = format!("{value:?}");
            push_str(self.0, &text);
        }
    }
}

thread_local! {
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(256));
}

/// Formats `event` as one JSON line into `out`.
fn format_line(event: &Event<'_>, out: &mut String) {
    let meta = event.metadata();
    out.push_str("{\"time\":\"");
    out.push_str(&now());
    out.push_str("\",\"level\":\"");
    out.push_str(match *meta.level() {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    });
    out.push_str("\",\"target\":");
    push_str(out, meta.target());
    event.record(&mut Fields(out));
    out.push_str("}\n");
}

impl<S: Subscriber> Layer<S> for JsonLines {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *metadata.level() <= self.max_level
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() > self.max_level {
            return;
        }
        LINE.with(|cell| {
            let Ok(mut line) = cell.try_borrow_mut() else {
                return;
            };
            line.clear();
            format_line(event, &mut line);
            match self.sink.pending.lock() {
                Ok(mut p) if p.len() + line.len() <= MAX_PENDING => {
                    p.extend_from_slice(line.as_bytes())
                }
                _ => {
                    self.sink.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        push_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
        let v: serde_json::Value = serde_json::from_str(&s).expect("json");
        assert_eq!(v, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn only_allowed_fields_reach_a_line() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let sink = Arc::new(Sink {
            pending: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let layer = JsonLines {
            max_level: Level::INFO,
            sink: Arc::clone(&sink),
        };
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!(
                phone_trunc = "+336273488",
                token = "t0k",
                route = "/x",
                status = 200u16,
                duration_ms = 1.5,
                "hello"
            );
            tracing::debug!(route = "/hidden", "below the level");
        });
        let text = String::from_utf8(sink.pending.lock().expect("lock").clone()).expect("utf8");
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json line");
        assert_eq!(v["route"], "/x");
        assert_eq!(v["status"], 200);
        assert_eq!(v["duration_ms"], 1.5);
        assert_eq!(v["message"], "hello");
        assert_eq!(v["level"], "info");
        assert!(v["phone_trunc"].is_null() && v["token"].is_null(), "{text}");
        assert!(!text.contains("273488") && !text.contains("t0k"), "{text}");
    }
}
