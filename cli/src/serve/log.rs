//! JSON log lines on stderr with a field allow-list (SPEC §11.4).
//!
//! One JSON object per line: `time`, `level`, `target`, then the event's fields — only the
//! names in [`ALLOWED`]; any other field is dropped, so a phone, name, licence, identity key or
//! token can never reach a log line even if some code were to record one. Span fields are
//! never printed. Lines go through a channel to one writer thread, which batches them, so a
//! request never waits on stderr.

use std::io::Write as _;
use std::sync::mpsc;

use serde_json::{Map, Value};
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
    "admins",
    "tls",
    "max_connections",
    "algorithm",
    "workers",
    "disabled",
    "deadline_secs",
    "start_date",
    "end_date",
    "delay_days",
];

/// The JSON-lines layer.
pub struct JsonLines {
    max_level: Level,
    tx: mpsc::Sender<String>,
}

/// Joins the writer thread (so every line is written) when dropped.
pub struct Guard {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // The sender lives in the global subscriber, so the channel never closes: the writer
        // stops on this flag once the channel is drained.
        if let Some(t) = self.thread.take() {
            STOP.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = t.join();
        }
    }
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Installs the JSON-lines subscriber for `max_level` and above.
///
/// # Errors
/// When a global subscriber is already installed.
pub fn init(max_level: Level) -> crate::Result<Guard> {
    use tracing_subscriber::layer::SubscriberExt as _;
    let (tx, rx) = mpsc::channel::<String>();
    let thread = std::thread::Builder::new()
        .name("cee-log".into())
        .spawn(move || write_lines(&rx))?;
    let layer = JsonLines { max_level, tx };
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .map_err(|e| format!("cannot install the logger: {e}"))?;
    Ok(Guard {
        thread: Some(thread),
    })
}

/// Writes lines as they come, flushing whenever the channel is empty; stops once asked and
/// drained.
fn write_lines(rx: &mpsc::Receiver<String>) {
    let stderr = std::io::stderr();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stderr.lock());
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(line) => {
                let _ = out.write_all(line.as_bytes());
                while let Ok(more) = rx.try_recv() {
                    let _ = out.write_all(more.as_bytes());
                }
                let _ = out.flush();
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if STOP.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = out.flush();
}

struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if ALLOWED.contains(&field.name()) {
            self.0.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if ALLOWED.contains(&field.name()) {
            self.put(field, Value::from(format!("{value:?}")));
        }
    }
}

/// One event as a JSON line (with its newline).
fn line(event: &Event<'_>) -> String {
    let mut fields = Fields(Map::new());
    let mut obj = Map::new();
    obj.insert(
        "time".into(),
        Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    obj.insert(
        "level".into(),
        Value::from(event.metadata().level().as_str().to_ascii_lowercase()),
    );
    obj.insert("target".into(), Value::from(event.metadata().target()));
    event.record(&mut fields);
    obj.extend(fields.0);
    let mut s = Value::Object(obj).to_string();
    s.push('\n');
    s
}

impl<S: Subscriber> Layer<S> for JsonLines {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *metadata.level() <= self.max_level
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() > self.max_level {
            return;
        }
        let l = line(event);
        let _ = self.tx.send(l);
    }
}
