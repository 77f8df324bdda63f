//! The agent desktop in a real browser (Debian's Chromium, driven over WebDriver by
//! chromedriver): an agent logs in, a simulated VIP call arrives on the ISDN span, the CRM
//! answers the gateway's lookup, the call rings the agent's phone, the customer's card pops
//! on the agent's screen (pushed, acknowledged), and after the call its recording plays
//! in the call history.
//!
//! The gateway daemon and the CRM run in this process, in real time, as in `trunkd demo`.
//! Without chromium/chromedriver the test says so and passes, unless `CI` is set (CI
//! installs them).
#![allow(clippy::disallowed_methods)]

mod common;
use fantoccini::{ClientBuilder, Locator};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use trunkd::crm::{seed_demo, Crm, CrmConfig, GatewayConfig};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gateway_config(dir: &Path) -> trunkd::config::Config {
    let text = format!(
        r#"
[general]
data_dir = {dir:?}
control_socket = {sock:?}

[cti]
listen = "127.0.0.1:0"

[[span]]
name = "pri-1"
backend = "sim"
signalling = "pri"
pri = {{ side = "te", switch = "china" }}

[[line]]
name = "vip-desk"
backend = "sim"
kind = "fxs"
ports = 1

[[route]]
class = "vip"
dial = "vip-desk"
record = true

[[route]]
app = "demo"

[sim]
answer_after_ms = 1500

[[sim.caller]]
via = "pri-1"
at_ms = 9000
called = "8002"
caller = "13912345678"
steps = ["tone 700 3000", "wait 500", "hangup"]
"#,
        dir = dir,
        sock = dir.join("trunkd.ctl"),
    );
    let cfg = trunkd::config::Config::parse(&text, "test").unwrap_or_else(|e| panic!("{e}"));
    trunkd::demo::install_prompts(&cfg.general.prompts_dir()).unwrap();
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_desktop_pops_the_vip_and_plays_the_recording() {
    if !Path::new("/usr/bin/chromedriver").exists() || !Path::new("/usr/bin/chromium").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver");
        eprintln!("SKIP: chromium/chromedriver not installed (apt install chromium chromium-driver)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(dir.path()).unwrap().join("gw");
    std::fs::create_dir_all(&dir).unwrap();

    // The gateway, with its CTI endpoint on a free port.
    let cfg = gateway_config(&dir);
    let token_file = cfg.cti.as_ref().unwrap().token_path(&dir);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let opts = trunkd::daemon::RunOptions {
        config_path: None,
        live: false,
        duration: Some(Duration::from_secs(40)),
        cti_ready: Some(ready_tx),
    };
    let daemon = tokio::spawn(trunkd::daemon::run(cfg, opts));
    let cti = tokio::time::timeout(Duration::from_secs(10), ready_rx).await.unwrap().unwrap();

    // The CRM following it.
    let mut c = CrmConfig::new(dir.join("crm"));
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.lang = "en".into();
    c.recordings_dir = Some(dir.join("recordings"));
    c.gateway = vec![GatewayConfig {
        name: "gw".into(),
        url: format!("ws://{cti}/cti"),
        token: None,
        token_file: Some(token_file),
        lookup: true,
    }];
    let crm = Crm::start(c).await.unwrap();
    seed_demo(crm.pool()).await.unwrap();
    let pool = crm.pool().clone();
    let base = format!("http://{}", crm.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let crm_task = tokio::spawn(crm.run(async move {
        let _ = stop_rx.await;
    }));

    // The browser.
    let port = common::free_port();
    let _driver = Driver(
        Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--autoplay-policy=no-user-gesture-required", "--mute-audio"]
        }
    }))
    .unwrap();
    let t = Instant::now();
    let b = loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(b) => break b,
            Err(e) => {
                assert!(t.elapsed() < Duration::from_secs(20), "chromedriver: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };

    // The VIP agent logs in (before the call arrives at 9 s).
    b.goto(&format!("{base}/login?lang=en")).await.unwrap();
    b.find(Locator::Id("login-user")).await.unwrap().send_keys("agent2").await.unwrap();
    b.find(Locator::Id("login-pass")).await.unwrap().send_keys("agent2").await.unwrap();
    b.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#ws-status[data-state='open']"))
        .await
        .expect("logged in, the desktop's WebSocket connects");
    assert!(b.current_url().await.unwrap().path().starts_with("/desktop"));
    let before: i64 = count_pops(&pool).await;
    assert_eq!(before, 0, "no call yet");

    // The call: the card pops with the VIP customer.
    let card = b
        .wait()
        .at_most(Duration::from_secs(25))
        .for_element(Locator::Css("#pop-card:not([hidden])"))
        .await
        .expect("the card pops");
    let name = b.find(Locator::Id("pop-name")).await.unwrap().text().await.unwrap();
    assert!(name.contains("Wang Wei"), "card shows {name:?}");
    let level = b.find(Locator::Id("pop-level")).await.unwrap().text().await.unwrap();
    assert!(level.to_lowercase().contains("vip"), "level {level:?}");
    let number = b.find(Locator::Id("pop-number")).await.unwrap().text().await.unwrap();
    assert!(number.contains("13912345678"), "number {number:?}");
    let call_id = card.attr("data-call-id").await.unwrap().unwrap_or_default();
    assert!(!call_id.is_empty());
    // Acknowledged by the browser, recorded by the CRM.
    let t = Instant::now();
    while acked_pops(&pool).await < 1 {
        assert!(t.elapsed() < Duration::from_secs(5), "pop never acknowledged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // After the call: the history has its recording, and it plays.
    let t = Instant::now();
    loop {
        b.goto(&format!("{base}/calls?lang=en")).await.unwrap();
        if let Ok(a) = b.find(Locator::Css("audio.recording")).await {
            let src = a.attr("src").await.unwrap().unwrap_or_default();
            assert!(src.starts_with("/recordings/"), "{src}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no recording in the call history");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let played = b
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const a = document.querySelector('audio.recording');
               a.addEventListener('error', () => done('error ' + (a.error && a.error.code)));
               a.play().then(() => setTimeout(() => done({ t: a.currentTime, d: a.duration }), 1500))
                       .catch(e => done('play failed: ' + e));"#,
            vec![],
        )
        .await
        .unwrap();
    let t = played["t"].as_f64().unwrap_or_else(|| panic!("recording did not play: {played}"));
    let d = played["d"].as_f64().unwrap_or(0.0);
    assert!(t > 0.5, "played {t} s");
    assert!(d > 2.0, "a recording of the whole call, got {d} s");

    b.close().await.unwrap();
    let _ = stop_tx.send(());
    let _ = crm_task.await;
    daemon.abort();
}

async fn count_pops(pool: &sqlx::AnyPool) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM pop").fetch_one(pool).await.unwrap().get::<i64, _>("n")
}

async fn acked_pops(pool: &sqlx::AnyPool) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM pop WHERE acked_ms IS NOT NULL")
        .fetch_one(pool)
        .await
        .unwrap()
        .get::<i64, _>("n")
}
