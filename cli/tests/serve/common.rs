//! A `cee serve` child process on an ephemeral loopback port, its stderr collected, and a raw
//! HTTP/1.1 client (so tests control exactly what is sent and when).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub type R = Result<(), Box<dyn std::error::Error>>;

pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const OP1: &str = "operator-one-token";
pub const OP2: &str = "operator-two-token";
pub const ADMIN: &str = "admin-token-xyz";
pub const SIRET1: &str = "89248032800012";

pub fn sha(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn tokens_json() -> Value {
    json!([
        {"token_sha256": sha(OP1), "operator_id": 1, "siret": SIRET1},
        {"token_sha256": sha(OP2), "operator_id": 2, "siret": "41234567800019", "role": "operator"},
        {"token_sha256": sha(ADMIN), "operator_id": 99, "siret": SIRET1, "role": "admin"}
    ])
}

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    dir: Option<tempfile::TempDir>,
    pub stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `cee serve --create` on a new registry with the standard tokens and `extra`
    /// flags, `env` added to its environment.
    pub fn start(
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("tokens.json"), tokens_json().to_string())?;
        Self::start_in(dir, &["--create"], extra, env)
    }

    pub fn start_in(
        dir: tempfile::TempDir,
        base: &[&str],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, Box<dyn std::error::Error>> {
        Self::start_on(dir, &["--db", "db"], base, extra, env)
    }

    /// Starts `cee serve` on the registry `registry` names (`--db DIR` or `--postgres …`).
    pub fn start_on(
        dir: tempfile::TempDir,
        registry: &[&str],
        base: &[&str],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, Box<dyn std::error::Error>> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cee"));
        cmd.arg("serve")
            .args(registry)
            .args(["--now", "2024-06-15T12:00:00Z"])
            .args([
                "--addr",
                "127.0.0.1:0",
                "--tokens",
                "tokens.json",
                "--workers",
                "2",
            ])
            .args(base)
            .args(extra)
            .current_dir(dir.path())
            .env("CEE_SECRET", SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let mut stderr = BufReader::new(child.stderr.take().ok_or("no stderr")?);
        let mut line = String::new();
        stderr.read_line(&mut line)?;
        let started: Value = serde_json::from_str(&line)
            .map_err(|e| format!("first line not JSON ({e}): {line:?}"))?;
        let addr: SocketAddr = started["addr"]
            .as_str()
            .ok_or_else(|| format!("no addr in {line}"))?
            .parse()?;
        let collected = Arc::new(Mutex::new(line));
        let sink = Arc::clone(&collected);
        let reader = std::thread::spawn(move || {
            let mut buf = String::new();
            while stderr.read_line(&mut buf).map(|n| n > 0).unwrap_or(false) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&buf);
                }
                buf.clear();
            }
        });
        Ok(Server {
            child,
            addr,
            dir: Some(dir),
            stderr: collected,
            reader: Some(reader),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) -> R {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()?
            .success();
        if ok {
            Ok(())
        } else {
            Err("kill failed".into())
        }
    }

    /// Waits for the process to exit (bounded); returns its success, stderr and directory.
    pub fn wait_exit(
        mut self,
        within: Duration,
    ) -> Result<(bool, String, tempfile::TempDir), Box<dyn std::error::Error>> {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(s) = self.child.try_wait()? {
                break s;
            }
            if Instant::now() > deadline {
                return Err("server did not exit in time".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let text = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let dir = self.dir.take().ok_or("no directory")?;
        Ok((status.success(), text, dir))
    }

    /// Waits until stderr contains `needle` (bounded).
    pub fn wait_log(
        &self,
        needle: &str,
        within: Duration,
    ) -> Result<String, Box<dyn std::error::Error>> {
        let deadline = Instant::now() + within;
        loop {
            let text = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
            if text.contains(needle) {
                return Ok(text);
            }
            if Instant::now() > deadline {
                return Err(format!("{needle:?} not logged; stderr:\n{text}").into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One request on a new connection; `Connection: close`.
    pub fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut headers = vec![];
        let auth;
        if let Some(t) = token {
            auth = format!("Bearer {t}");
            headers.push(("Authorization", auth.as_str()));
        }
        raw(self.addr, method, path, &headers, body.as_bytes())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

pub fn parse_reply(bytes: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status,
        head: head.to_owned(),
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn head(method: &str, path: &str, headers: &[(&str, &str)], content_length: usize) -> String {
    let mut h = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\n"
    );
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// One raw request; reads the whole answer (bounded by a 10 s read timeout).
pub fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(head(method, path, headers, body.len()).as_bytes())
        .expect("write head");
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse_reply(&out)
}
