//! Every query of `crm::db` on SQLite and (with TRUNKD_TEST_POSTGRES) PostgreSQL.

mod crm_common;
use crm_common as common;

use sqlx::{AnyPool, Row};
use trunkd::crm::db::{self, CustomerInput, EventRecord, LegUpdate, Role};
use trunkd::crm::lookup::{self, Class, Level, ListKind};
use trunkd::crm::{create_user, seed_demo};

const NOW: i64 = 1_800_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_on_every_backend() {
    for t in common::databases().await {
        eprintln!("== {}", t.label);
        let pool = db::open(&t.url).await.unwrap_or_else(|e| panic!("{}: open: {e}", t.label));
        body(&pool, t.label).await;
        pool.close().await;
        // Re-opening runs no migration twice.
        let pool = db::open(&t.url).await.expect("reopen");
        let n: i64 =
            sqlx::query("SELECT COUNT(*) FROM schema_migrations").fetch_one(&pool).await.expect("count").get(0);
        assert_eq!(n, 1, "{}", t.label);
        pool.close().await;
        t.cleanup().await;
    }
}

async fn body(pool: &AnyPool, label: &str) {
    // --- seed: idempotent
    let s1 = seed_demo(pool).await.expect("seed");
    assert_eq!((s1.customers_created, s1.list_entries_created), (3, 2), "{label}");
    let s2 = seed_demo(pool).await.expect("seed again");
    assert_eq!((s2.customers_created, s2.list_entries_created), (0, 0), "{label}");
    assert_eq!(s2.logins.len(), 4);

    // --- users and sessions
    let uid = create_user(pool, "agent3", "Agent 3", Role::Agent, "pw3", Some("phones/3")).await.expect("user");
    assert!(create_user(pool, "agent3", "dup", Role::Agent, "x", None).await.is_err(), "{label}: duplicate login");
    let (u, hash) = db::user_for_login(pool, "agent3").await.expect("q").expect("found");
    assert_eq!((u.id, u.role, u.contact.as_deref()), (uid, Role::Agent, Some("phones/3")));
    assert!(trunkd::crm::auth::verify_password("pw3", &hash));
    assert_eq!(db::user_by_contact(pool, "vip-desk/0").await.expect("q").map(|u| u.login), Some("agent2".into()));
    assert!(db::user_by_contact(pool, "phones/9").await.expect("q").is_none());
    db::insert_session(pool, "tok", "csrf", uid, NOW, NOW + 1000).await.expect("session");
    assert_eq!(db::session(pool, "tok", NOW).await.expect("q").map(|s| s.user.login), Some("agent3".into()));
    assert!(db::session(pool, "tok", NOW + 1000).await.expect("q").is_none(), "{label}: expired session");
    db::set_user_lang(pool, uid, "en").await.expect("lang");
    assert_eq!(db::session(pool, "tok", NOW).await.expect("q").and_then(|s| s.user.lang), Some("en".into()));
    assert_eq!(db::purge_sessions(pool, NOW + 2000).await.expect("purge"), 1);
    db::delete_session(pool, "nothing").await.expect("delete");
    assert!(db::list_users(pool).await.expect("users").len() >= 5);

    // --- customers: number variants all find the seeded ones
    let wang = lookup::lookup(pool, "+86 139 1234 5678", NOW).await.expect("lookup");
    let wang_c = wang.customer.clone().expect("Wang Wei");
    assert_eq!(
        (wang_c.name.as_str(), wang_c.level, wang.classification.class.clone()),
        ("Wang Wei 王伟", Level::Vip, Class::Vip)
    );
    assert_eq!((wang_c.owner.as_deref(), wang_c.owner_device.as_deref()), (Some("agent2"), Some("vip-desk/0")));
    for v in ["13501234567", "0086 135 0123 4567", "013501234567"] {
        let a = lookup::lookup(pool, v, NOW).await.expect("lookup");
        assert_eq!(a.customer.map(|c| c.name), Some("Li Na 李娜".to_string()), "{label} {v}");
        assert_eq!(a.classification.class, Class::Normal);
    }
    for v in ["01062345678", "+86 10 6234 5678", "62345678"] {
        let a = lookup::lookup(pool, v, NOW).await.expect("lookup");
        assert_eq!(a.customer.map(|c| c.name), Some("Zhang Min 张敏".to_string()), "{label} {v}");
    }
    // --- lists: blacklist without customer, prefix, expiry, whitelist
    let b = lookup::lookup(pool, "13700001111", NOW).await.expect("lookup");
    assert!(b.customer.is_none());
    assert_eq!(b.classification.class, Class::Blacklist, "{label}");
    assert_eq!(lookup::lookup(pool, "17012345678", 0).await.expect("l").classification.class, Class::Blacklist);
    // The seeded prefix entry expires a year after seeding: in 2 years it is dead.
    let far = trunkd::crm::now_ms() + 2 * 365 * 24 * 3600 * 1000;
    assert_eq!(lookup::lookup(pool, "17012345678", far).await.expect("l").classification.class, Class::Normal);
    let wl =
        db::add_list_entry(pool, ListKind::Whitelist, "137 0000 1111", false, "", None, None, NOW).await.expect("add");
    assert_eq!(
        lookup::lookup(pool, "13700001111", NOW).await.expect("l").classification.class,
        Class::Normal,
        "{label}"
    );
    assert!(db::delete_list_entry(pool, wl.expect("id")).await.expect("del"));
    let vip = db::add_list_entry(pool, ListKind::Vip, "0755", true, "Shenzhen", Some(NOW + 10), None, NOW)
        .await
        .expect("add");
    assert_eq!(lookup::lookup(pool, "0755-12345678", NOW).await.expect("l").classification.class, Class::Vip);
    assert!(db::set_list_entry_expiry(pool, vip.expect("id"), Some(NOW - 1)).await.expect("exp"));
    assert_eq!(lookup::lookup(pool, "0755-12345678", NOW).await.expect("l").classification.class, Class::Normal);
    assert_eq!(
        db::add_list_entry(pool, ListKind::Blacklist, "abc", false, "", None, None, NOW).await.expect("add"),
        None
    );
    assert!(db::list_entries(pool).await.expect("entries").len() >= 3);

    // --- customer CRUD, search, ambiguity of suffix matches
    let input = CustomerInput {
        name: "Zhao Lei".into(),
        level: Level::Svip,
        owner_id: Some(uid),
        notes: "n".into(),
        phones: vec!["021-62345678".into(), "+86 186 0000 0001".into()],
    };
    let zid = db::create_customer(pool, &input, NOW).await.expect("create");
    let a = lookup::lookup(pool, "62345678", NOW).await.expect("l");
    assert!(a.customer.is_none(), "{label}: 62345678 is now ambiguous (010 and 021)");
    assert_eq!(lookup::lookup(pool, "18600000001", NOW).await.expect("l").classification.class, Class::Svip);
    let bad = CustomerInput { phones: vec!["not a number".into()], ..input.clone() };
    assert!(matches!(db::create_customer(pool, &bad, NOW).await, Err(db::CustomerError::BadPhone(_))));
    let empty = CustomerInput { name: " ".into(), ..input.clone() };
    assert!(matches!(db::create_customer(pool, &empty, NOW).await, Err(db::CustomerError::EmptyName)));
    let edited = CustomerInput {
        name: "Zhao Lei 赵磊".into(),
        level: Level::Normal,
        phones: vec!["18600000002".into()],
        ..input
    };
    assert!(db::update_customer(pool, zid, &edited, NOW + 1).await.expect("update"));
    assert!(!db::update_customer(pool, 999_999, &edited, NOW).await.expect("update missing"));
    let c = db::customer(pool, zid).await.expect("q").expect("found");
    assert_eq!(
        (c.name.as_str(), c.level, c.phones.len(), c.owner_login.as_deref()),
        ("Zhao Lei 赵磊", Level::Normal, 1, Some("agent3"))
    );
    assert_eq!(
        lookup::lookup(pool, "62345678", NOW).await.expect("l").customer.map(|c| c.name),
        Some("Zhang Min 张敏".into())
    );
    assert_eq!(db::search_customers(pool, "zhao", 10).await.expect("s").len(), 1, "{label}: case-insensitive name");
    assert_eq!(db::search_customers(pool, "赵", 10).await.expect("s").len(), 1);
    assert_eq!(db::search_customers(pool, "186 0000", 10).await.expect("s").len(), 1, "{label}: phone digits");
    assert_eq!(db::search_customers(pool, "", 100).await.expect("s").len(), 4);
    // The limit counts customers (not their phone rows), in name order.
    let two = db::search_customers(pool, "", 2).await.expect("s");
    assert_eq!(two.len(), 2, "{label}");
    let all = db::search_customers(pool, "", 100).await.expect("s");
    assert_eq!(two.iter().map(|c| c.id).collect::<Vec<_>>(), all.iter().take(2).map(|c| c.id).collect::<Vec<_>>());
    assert_eq!(db::search_customers(pool, "%_", 100).await.expect("s").len(), 4);

    // --- events, cursor, idempotency
    assert_eq!(db::cursor(pool, "gw").await.expect("c"), None);
    let leg = |seq: i64, state: &str| LegUpdate {
        call_id: "call-1".into(),
        leg_id: "leg-a".into(),
        direction: Some("inbound".into()),
        device: Some("pri-1/5".into()),
        state: Some(state.into()),
        from_number: Some("13912345678".into()),
        start_ms: Some(NOW + seq),
        customer_id: Some(wang_c.id),
        seq: Some(seq),
        ..Default::default()
    };
    let ev = |seq: i64| EventRecord {
        seq,
        kind: "call.offered",
        call_id: Some("call-1"),
        leg_id: Some("leg-a"),
        ts_ms: Some(NOW),
        body: "{}",
    };
    assert!(db::store_event(pool, "gw", &ev(1), Some(&leg(1, "offered")), NOW).await.expect("store"));
    assert!(!db::store_event(pool, "gw", &ev(1), Some(&leg(1, "offered")), NOW).await.expect("dup"), "{label}: replay");
    let mut answered = leg(2, "connected");
    answered.answer_ms = Some(NOW + 2);
    assert!(db::store_event(pool, "gw", &ev(2), Some(&answered), NOW).await.expect("store"));
    assert!(db::store_event(pool, "gw", &ev(3), None, NOW).await.expect("no leg"));
    assert_eq!(db::cursor(pool, "gw").await.expect("c"), Some(3));
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM call_event WHERE gateway = $1")
        .bind("gw")
        .fetch_one(pool)
        .await
        .expect("n")
        .get(0);
    assert_eq!(n, 3);
    let live = db::live_calls(pool, NOW, 3_600_000).await.expect("live");
    assert_eq!(live.len(), 1, "{label}");
    assert_eq!(
        (live[0].state.as_deref(), live[0].start_ms, live[0].answer_ms),
        (Some("connected"), Some(NOW + 1), Some(NOW + 2))
    );
    // A late CDR completes the leg; an older state does not overwrite a newer one.
    let cdr = LegUpdate {
        call_id: "call-1".into(),
        leg_id: "leg-a".into(),
        state: Some("ended".into()),
        end_ms: Some(NOW + 60_000),
        talk_ms: Some(58_000),
        cause_code: Some(16),
        cause_name: Some("NORMAL_CLEARING".into()),
        recording: Some("/rec/a.wav".into()),
        ivr_path: Some("[\"menu\"]".into()),
        cdr: Some("{}".into()),
        seq: Some(9),
        ..Default::default()
    };
    db::store_cdr(pool, "gw", &cdr, NOW).await.expect("cdr");
    db::upsert_leg(pool, "gw", &leg(1, "offered"), NOW).await.expect("stale");
    let row = db::call_by_leg(pool, "leg-a").await.expect("q").expect("leg");
    assert_eq!(
        (row.state.as_deref(), row.talk_ms, row.customer_name.as_deref()),
        (Some("ended"), Some(58_000), Some("Wang Wei 王伟")),
        "{label}"
    );
    assert!(db::live_calls(pool, NOW, 3_600_000).await.expect("live").is_empty());
    // Second call of the same number: recent calls list the first, with its recording.
    let b = LegUpdate {
        call_id: "call-2".into(),
        leg_id: "leg-b".into(),
        from_number: Some("+8613912345678".into()),
        start_ms: Some(NOW + 100_000),
        ..Default::default()
    };
    db::upsert_leg(pool, "gw", &b, NOW).await.expect("b");
    let recent = db::recent_calls(pool, Some("13912345678"), Some(wang_c.id), "call-2", 5).await.expect("recent");
    assert_eq!(recent.len(), 1, "{label}");
    assert_eq!(recent[0].recording.as_deref(), Some("/rec/a.wav"));
    assert_eq!(db::calls(pool, Some("13912345678"), None, 10).await.expect("calls").len(), 2);
    assert_eq!(db::calls(pool, None, Some(wang_c.id), 10).await.expect("calls").len(), 1);
    assert_eq!(db::calls(pool, None, None, 10).await.expect("calls").len(), 2);

    // --- pops
    let agent2 = db::user_id_by_login(pool, "agent2").await.expect("q").expect("agent2");
    let p1 =
        db::insert_pop(pool, agent2, "gw", "call-2", "leg-b", r#"{"type":"pop"}"#, Some(NOW), NOW).await.expect("pop");
    let p2 =
        db::insert_pop(pool, agent2, "gw", "call-2", "leg-b", r#"{"type":"pop"}"#, None, NOW + 1).await.expect("pop");
    assert_eq!(db::unacked_pops(pool, agent2, NOW - 1).await.expect("u").len(), 2);
    db::mark_pop_delivered(pool, p1, NOW + 5).await.expect("delivered");
    assert!(db::ack_pop(pool, p1, agent2, NOW + 7).await.expect("ack"));
    assert!(!db::ack_pop(pool, p1, agent2, NOW + 8).await.expect("ack twice"));
    assert!(!db::ack_pop(pool, p2, uid, NOW + 8).await.expect("someone else's pop"));
    let r = db::pop(pool, p1).await.expect("q").expect("pop");
    assert_eq!((r.delivered_ms, r.acked_ms, r.event_ts_ms), (Some(NOW + 5), Some(NOW + 7), Some(NOW)));
    let left = db::unacked_pops(pool, agent2, NOW - 1).await.expect("u");
    assert_eq!(left.iter().map(|p| p.id).collect::<Vec<_>>(), vec![p2]);
    assert_eq!(db::pops_for_leg(pool, "leg-b").await.expect("p").len(), 2);

    // --- delete a customer: calls keep their rows, lose the link
    assert!(db::delete_customer(pool, wang_c.id).await.expect("delete"));
    assert!(db::customer(pool, wang_c.id).await.expect("q").is_none());
    assert_eq!(db::call_by_leg(pool, "leg-a").await.expect("q").and_then(|c| c.customer_id), None, "{label}");
}
