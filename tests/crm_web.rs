//! The web UI over real HTTP: login, CSRF, customers, CSV import, roles, recordings.

mod crm_common;
use crm_common as common;

use common::{attr_after, Browser};
use std::net::SocketAddr;
use trunkd::crm::db::{self, LegUpdate};
use trunkd::crm::{seed_demo, Crm, CrmConfig};

struct Running {
    addr: SocketAddr,
    pool: sqlx::AnyPool,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(t: &common::TestDb, recordings: &std::path::Path) -> Running {
    let mut cfg = CrmConfig::new(t.dir.path().join("data"));
    cfg.listen = "127.0.0.1:0".parse().expect("addr");
    cfg.database_url = Some(t.url.clone());
    cfg.recordings_dir = Some(recordings.to_path_buf());
    cfg.lang = "zh".into();
    let crm = Crm::start(cfg).await.expect("start");
    seed_demo(crm.pool()).await.expect("seed");
    let (addr, pool) = (crm.local_addr(), crm.pool().clone());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        crm.run(async move {
            let _ = rx.await;
        })
        .await
        .expect("run");
    });
    Running { addr, pool, stop, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_on_every_backend() {
    for t in common::databases().await {
        eprintln!("== {}", t.label);
        let rec = t.dir.path().join("recordings");
        std::fs::create_dir_all(&rec).expect("mkdir");
        let r = start(&t, &rec).await;
        web(&r, &rec, t.label).await;
        let _ = r.stop.send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), r.task)
            .await
            .expect("shutdown in time")
            .expect("join");
        t.cleanup().await;
    }
}

async fn web(r: &Running, rec: &std::path::Path, label: &str) {
    let addr = r.addr;
    // Health without login.
    let h = common::http(addr, "GET", "/health", &[], None).await;
    assert_eq!(h.status, 200);
    assert!(h.text().contains(r#""db":"ok""#), "{}", h.text());

    // Not logged in: pages redirect to the login form.
    let mut anon = Browser::new(addr);
    let p = anon.get("/customers").await;
    assert_eq!((p.status, p.header("location")), (303, Some("/login")));
    let login = anon.get("/login").await;
    for id in ["login-user", "login-pass", "login-submit"] {
        assert!(login.text().contains(&format!(r#"id="{id}""#)), "{id}");
    }

    // Login CSRF: missing or wrong token is refused before the password is looked at.
    let mut b = Browser::new(addr);
    b.get("/login").await;
    assert_eq!(b.post("/login", &[("login", "agent1"), ("password", "agent1")]).await.status, 403, "{label}");
    assert_eq!(b.post("/login", &[("csrf", "forged"), ("login", "agent1"), ("password", "agent1")]).await.status, 403);
    // Wrong password and unknown user look the same.
    let bad = b.login("agent1", "wrong").await;
    let unknown = b.login("nobody", "agent1").await;
    assert_eq!((bad.status, unknown.status), (401, 401));
    assert!(bad.text().contains("login-error") && unknown.text().contains("login-error"));
    assert!(!b.cookies.contains_key("crm_session"));

    // Agent logs in: home is the desktop.
    let ok = b.login("agent1", "agent1").await;
    assert_eq!(ok.status, 303, "{}", ok.text());
    let cookie = ok.header("set-cookie").unwrap_or("").to_string();
    assert!(b.cookies.contains_key("crm_session"));
    let sc: Vec<_> =
        ok.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.clone()).collect();
    assert!(
        sc.iter().any(|c| c.starts_with("crm_session=") && c.contains("HttpOnly") && c.contains("SameSite=Strict")),
        "{cookie}"
    );
    assert_eq!(b.get("/").await.header("location"), Some("/desktop"));
    let desk = b.get("/desktop").await;
    assert_eq!(desk.status, 200);
    assert!(desk.text().contains(r#"id="pop-card""#) && desk.text().contains("phones/0"));

    // Role checks.
    assert_eq!(b.get("/live").await.status, 403, "{label}: agent on /live");
    assert_eq!(b.get("/lists").await.status, 403);
    assert_eq!(b.get("/users").await.status, 403);
    let ws_live = common::http(
        addr,
        "GET",
        "/ws/live",
        &[
            ("Cookie", b.cookie_header()),
            ("Upgrade", "websocket".into()),
            ("Connection", "Upgrade".into()),
            ("Sec-WebSocket-Version", "13".into()),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==".into()),
        ],
        None,
    )
    .await;
    assert_eq!(ws_live.status, 403);

    // Customer create: CSRF required.
    let csrf = b.csrf().await;
    let fields = [
        ("name", "Chen Jie 陈杰"),
        ("level", "vip"),
        ("owner_id", ""),
        ("phones", "0755-8888 6666\n+86 138 0013 8000"),
        ("notes", "<b>likes tea</b>"),
    ];
    assert_eq!(b.post("/customers/new", &fields).await.status, 403, "{label}: no csrf");
    let mut with_bad = fields.to_vec();
    with_bad.push(("csrf", "nope"));
    assert_eq!(b.post("/customers/new", &with_bad).await.status, 403, "wrong csrf");
    let mut with = fields.to_vec();
    with.push(("csrf", &csrf));
    let created = b.post("/customers/new", &with).await;
    assert_eq!(created.status, 303, "{}", created.text());
    let loc = created.header("location").expect("location").to_string();
    let page = b.get(&loc).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("Chen Jie 陈杰") && text.contains("&lt;b&gt;likes tea&lt;/b&gt;"), "escaped notes");
    let id: i64 = loc.trim_start_matches("/customers/").parse().expect("id");
    // Edit.
    let edit = [
        ("csrf", csrf.as_str()),
        ("name", "Chen Jie"),
        ("level", "svip"),
        ("owner_id", ""),
        ("phones", "13800138000"),
        ("notes", ""),
    ];
    assert_eq!(b.post(&loc, &edit).await.status, 303);
    let c = db::customer(&r.pool, id).await.expect("q").expect("customer");
    assert_eq!((c.name.as_str(), c.level.as_str(), c.phones.len()), ("Chen Jie", "svip", 1));
    let bad_phone = [("csrf", csrf.as_str()), ("name", "X"), ("level", "normal"), ("phones", "call me"), ("notes", "")];
    let resp = b.post(&loc, &bad_phone).await;
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("form-error"));
    assert_eq!(b.post("/customers/999999", &edit).await.status, 404);
    // Agents may not delete.
    assert_eq!(b.post(&format!("{loc}/delete"), &[("csrf", &csrf)]).await.status, 403);
    let search = b.get("/customers?q=13800138000").await;
    assert!(search.text().contains("Chen Jie"));

    // CSV import: a header row, two good rows, one bad level.
    let csv = "name,level,phones,notes\r\nLiu Yang 刘洋,vip,13600000001;010-66667777,\"quoted, note\"\r\nZhou Xun,,13600000002,\r\nBad Row,gold,13600000003,\r\n";
    let imp = b.post("/customers/import", &[("csrf", &csrf), ("csv", csv)]).await;
    assert_eq!(imp.status, 200);
    let t = imp.text();
    assert_eq!(attr_after(&t, r#"data-created=""#).as_deref(), Some("2"), "{t}");
    assert_eq!(attr_after(&t, r#"data-failed=""#).as_deref(), Some("1"));
    let a = trunkd::crm::lookup::lookup(&r.pool, "+86 10 6666 7777", 0).await.expect("lookup");
    assert_eq!(a.customer.map(|c| c.name), Some("Liu Yang 刘洋".into()), "{label}");
    assert_eq!(b.post("/customers/import", &[("csv", csv)]).await.status, 403, "import without csrf");

    // Language: ?lang=en switches and sticks via the cookie.
    let en = b.get("/customers?lang=en").await;
    assert!(en.text().contains("New customer"));
    assert!(b.cookies.get("crm_lang").is_some_and(|l| l == "en"));
    assert!(b.get("/customers").await.text().contains("New customer"));
    b.get("/customers?lang=zh").await;
    assert!(b.get("/customers").await.text().contains("新建客户"));

    // Recordings: only from under the recordings dir; G.711 A-law decoded to PCM16.
    let outside = rec.parent().expect("parent").join("outside.wav");
    std::fs::write(&outside, alaw_wav(&[0xD5, 0x55, 0xAA])).expect("write");
    let inside = rec.join("in.wav");
    std::fs::write(&inside, alaw_wav(&[0xD5, 0x55, 0xAA])).expect("write");
    let traversal = format!("{}/../outside.wav", rec.display());
    for (leg, path) in [
        ("leg-out", outside.display().to_string()),
        ("leg-trav", traversal),
        ("leg-etc", "/etc/passwd".into()),
        ("leg-in", inside.display().to_string()),
    ] {
        let u = LegUpdate {
            call_id: format!("c-{leg}"),
            leg_id: leg.into(),
            recording: Some(path),
            start_ms: Some(1),
            ..Default::default()
        };
        db::upsert_leg(&r.pool, "gw", &u, 1).await.expect("leg");
    }
    for leg in ["leg-out", "leg-trav", "leg-etc"] {
        let resp = b.get(&format!("/recordings/{leg}")).await;
        assert_eq!(resp.status, 403, "{label}: {leg}");
    }
    assert_eq!(b.get("/recordings/no-such-leg").await.status, 404);
    let wav = b.get("/recordings/leg-in").await;
    assert_eq!(wav.status, 200);
    assert_eq!(wav.header("content-type"), Some("audio/wav"));
    let w = &wav.body;
    assert_eq!(&w[0..4], b"RIFF");
    assert_eq!(u16::from_le_bytes([w[20], w[21]]), 1, "PCM");
    assert_eq!(u16::from_le_bytes([w[34], w[35]]), 16, "16 bit");
    assert_eq!(u32::from_le_bytes([w[40], w[41], w[42], w[43]]), 6);
    let samples: Vec<i16> = w[44..].chunks(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    assert_eq!(samples, vec![8, -8, 32256]);
    let calls = b.get("/calls").await;
    assert!(calls.text().contains(r#"<audio class="recording" controls preload="none" src="/recordings/leg-in">"#));

    // Supervisor: live and lists.
    let mut s = Browser::new(addr);
    assert_eq!(s.login("supervisor", "supervisor").await.status, 303);
    assert_eq!(s.get("/").await.header("location"), Some("/live"));
    assert_eq!(s.get("/live").await.status, 200);
    let scsrf = s.csrf().await;
    let add = s
        .post(
            "/lists",
            &[
                ("csrf", &scsrf),
                ("kind", "blacklist"),
                ("pattern", "0755"),
                ("prefix", "1"),
                ("reason", "spam"),
                ("expires", "2099-12-31"),
            ],
        )
        .await;
    assert_eq!(add.status, 303);
    assert_eq!(s.post("/lists", &[("kind", "blacklist"), ("pattern", "1")]).await.status, 403);
    let lists = s.get("/lists").await.text();
    assert!(lists.contains("<code>0755</code>") && lists.contains("2099-12-31"), "{lists}");
    let a = trunkd::crm::lookup::lookup(&r.pool, "0755-12345678", trunkd::crm::now_ms()).await.expect("l");
    assert_eq!(a.classification.class, trunkd::crm::lookup::Class::Blacklist);
    assert_eq!(s.post(&format!("{loc}/delete"), &[("csrf", &scsrf)]).await.status, 303);
    assert!(db::customer(&r.pool, id).await.expect("q").is_none());
    assert_eq!(s.get("/users").await.status, 403);

    // Logout needs the token too, then the session is gone.
    assert_eq!(b.post("/logout", &[]).await.status, 403);
    assert_eq!(b.post("/logout", &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(b.get("/customers").await.status, 303);
}

/// A minimal A-law WAV (8 kHz mono).
fn alaw_wav(samples: &[u8]) -> Vec<u8> {
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(38 + 8 + samples.len() as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&18u32.to_le_bytes());
    w.extend_from_slice(&6u16.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&8u16.to_le_bytes());
    w.extend_from_slice(&0u16.to_le_bytes());
    w.extend_from_slice(b"fact");
    w.extend_from_slice(&4u32.to_le_bytes());
    w.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    w.extend_from_slice(samples);
    w
}
