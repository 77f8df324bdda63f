//! Test helpers: the database matrix (SQLite always, PostgreSQL from
//! `TRUNKD_TEST_POSTGRES`), a tiny HTTP/1.1 client with a cookie jar, polling.
#![allow(dead_code)]

use sqlx::any::AnyPoolOptions;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One database for one test: a temp SQLite file or a fresh PostgreSQL database.
pub struct TestDb {
    pub label: &'static str,
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// Drops the PostgreSQL database (the SQLite temp dir goes with `dir`).
    pub async fn cleanup(self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(pool) = AnyPoolOptions::new().max_connections(1).connect(admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&pool).await;
                pool.close().await;
            }
        }
    }
}

#[allow(clippy::disallowed_methods)] // a unique name, not logic under test
fn rand_suffix() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:x}{:x}", t, std::process::id())
}

/// SQLite, plus PostgreSQL when `TRUNKD_TEST_POSTGRES` is set. Without it PostgreSQL is
/// skipped with a message, unless `CI` is set: then the test fails.
pub async fn databases() -> Vec<TestDb> {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("crm.sqlite").display());
    let mut v = vec![TestDb { label: "sqlite", url, dir, pg: None }];
    match std::env::var("TRUNKD_TEST_POSTGRES") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("crm_test_{}", rand_suffix());
            let pool =
                AnyPoolOptions::new().max_connections(1).connect(&admin).await.expect("connect TRUNKD_TEST_POSTGRES");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create database");
            pool.close().await;
            // Same server and credentials, our database.
            let base = admin.split('?').next().unwrap_or(&admin);
            let cut = base.rfind('/').filter(|&i| i > "postgres://".len()).unwrap_or(base.len());
            let url = format!("{}/{}", &base[..cut], name);
            v.push(TestDb {
                label: "postgres",
                url,
                dir: tempfile::tempdir().expect("tempdir"),
                pg: Some((admin, name)),
            });
        }
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but TRUNKD_TEST_POSTGRES is not: PostgreSQL tests must run in CI");
            }
            eprintln!("SKIP postgres: set TRUNKD_TEST_POSTGRES=postgres://user:pass@host/postgres to run these tests on PostgreSQL too");
        }
    }
    v
}

/// Polls `f` until it returns `Some` or 10 s pass.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&")
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<(&str, Vec<u8>)>,
) -> Resp {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.map(|(ct, b)| {
        req.push_str(&format!("Content-Type: {ct}\r\nContent-Length: {}\r\n", b.len()));
        b
    });
    if body.is_none() && method == "POST" {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    if let Some(b) = body {
        s.write_all(&b).await.expect("write body");
    }
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw)).await.expect("http timeout").expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    Resp { status, headers, body }
}

/// A browser: a cookie jar over `http`.
pub struct Browser {
    pub addr: SocketAddr,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Browser {
        Browser { addr, cookies: HashMap::new() }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, r: &Resp) {
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let kv = v.split(';').next().unwrap_or("");
                if let Some((n, val)) = kv.split_once('=') {
                    if val.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(n);
                    } else {
                        self.cookies.insert(n.to_string(), val.to_string());
                    }
                }
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        let r = http(self.addr, "GET", path, &[("Cookie", self.cookie_header())], None).await;
        self.keep(&r);
        r
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = form(fields).into_bytes();
        let r = http(
            self.addr,
            "POST",
            path,
            &[("Cookie", self.cookie_header())],
            Some(("application/x-www-form-urlencoded", body)),
        )
        .await;
        self.keep(&r);
        r
    }

    /// Logs in through the form (CSRF cookie + hidden field); returns the POST's response.
    pub async fn login(&mut self, user: &str, pass: &str) -> Resp {
        let page = self.get("/login").await;
        assert_eq!(page.status, 200);
        let token = attr_after(&page.text(), r#"name="csrf" value=""#).expect("login csrf");
        self.post("/login", &[("csrf", &token), ("login", user), ("password", pass)]).await
    }

    /// The session's CSRF token, from any page.
    pub async fn csrf(&mut self) -> String {
        let r = self.get("/customers").await;
        attr_after(&r.text(), r#"data-csrf=""#).expect("csrf on page")
    }
}

/// The text after `marker` up to the next `"`.
pub fn attr_after(html: &str, marker: &str) -> Option<String> {
    let i = html.find(marker)? + marker.len();
    let j = html[i..].find('"')?;
    Some(html[i..i + j].to_string())
}
