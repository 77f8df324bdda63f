use trunkd_plugin::{Call, Decision, Event, Plugin, Settings};

use crate::rules::{parse_days, parse_hours, Action, Office, Rules};
use crate::PrefixRouter;

/// 2024-01-01T00:00:00Z, a Monday.
const MONDAY: i64 = 1_704_067_200_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn router(settings: &[(&str, &str)]) -> PrefixRouter {
    PrefixRouter::init(&Settings::from_pairs(settings)).unwrap()
}

fn init_err(settings: &[(&str, &str)]) -> String {
    PrefixRouter::init(&Settings::from_pairs(settings)).err().expect("init should fail")
}

fn call(called: &str) -> Call<'_> {
    Call::builder().called(called).time(MONDAY + 10 * HOUR, 0).build()
}

const RULES: &str = "95=dial:pri-1;400=script:menu.lua,en;13=queue:agents;1900=reject:21;9=dial:pstn,strip;950=none";

#[test]
fn actions_parse() {
    assert_eq!(Action::parse("dial:pri-1"), Ok(Action::Dial { group: "pri-1".into(), strip: false }));
    assert_eq!(Action::parse(" dial: pri-1 , strip "), Ok(Action::Dial { group: "pri-1".into(), strip: true }));
    assert_eq!(
        Action::parse("script:menu.lua,en,night"),
        Ok(Action::Script { name: "menu.lua".into(), args: vec!["en".into(), "night".into()] })
    );
    assert_eq!(Action::parse("script:closed.lua"), Ok(Action::Script { name: "closed.lua".into(), args: vec![] }));
    assert_eq!(Action::parse("queue:agents"), Ok(Action::Queue { name: "agents".into() }));
    assert_eq!(Action::parse("reject:17"), Ok(Action::Reject { cause: 17 }));
    assert_eq!(Action::parse("none"), Ok(Action::None));
    for bad in [
        "dial",
        "dial:",
        "dial:pri-1,7",
        "queue:a,b",
        "reject:0",
        "reject:128",
        "reject:busy",
        "reject:17,1",
        "ring:agents",
        "script:m.lua,1,2,3,4,5,6,7,8,9",
        "",
    ] {
        assert!(Action::parse(bad).is_err(), "{bad:?} should not parse");
    }
    let long = format!("queue:{}", "q".repeat(300));
    assert!(Action::parse(&long).unwrap_err().contains("more than the 256"));
}

#[test]
fn rules_parse_and_longest_prefix_wins() {
    let rules = Rules::parse(RULES).unwrap();
    assert_eq!(rules.len(), 6);
    let prefix = |n: &str| rules.lookup(n).map(|r| r.prefix.as_str());
    assert_eq!(prefix("95123"), Some("95"));
    assert_eq!(prefix("9501"), Some("950"));
    assert_eq!(prefix("9123"), Some("9"));
    assert_eq!(prefix("19001"), Some("1900"));
    assert_eq!(prefix("1300"), Some("13"));
    assert_eq!(prefix("1234"), None);
    assert_eq!(prefix(""), None);
    assert_eq!(Rules::parse(" ; 1=none ;").unwrap().len(), 1);
    assert_eq!(Rules::parse("").unwrap().len(), 0);
}

#[test]
fn rule_errors_name_the_rule() {
    assert_eq!(
        Rules::parse("95=dial:pri-1;400=scrip:menu.lua").unwrap_err().split(':').next(),
        Some("rule 2 `400=scrip")
    );
    let cases = [
        ("95", "rule 1 `95`: expected PREFIX=ACTION"),
        ("=dial:x", "rule 1 `=dial:x`: prefix `` is not digits"),
        ("9a=dial:x", "rule 1 `9a=dial:x`: prefix `9a` is not digits"),
        ("1=none;2=none;1=dial:x", "rule 3 `1=dial:x`: prefix `1` appears twice"),
        ("1900=reject:200", "rule 1 `1900=reject:200`: `reject:200`: reject takes a Q.850 cause 1..127"),
    ];
    for (rules, want) in cases {
        assert_eq!(Rules::parse(rules).unwrap_err(), want);
    }
}

#[test]
fn hours_and_days_parse() {
    assert_eq!(parse_hours("09:00-18:00"), Ok((540, 1080)));
    assert_eq!(parse_hours("9:30 - 17:45"), Ok((570, 1065)));
    assert_eq!(parse_hours("22:00-06:00"), Ok((1320, 360)));
    assert_eq!(parse_hours("00:00-24:00"), Ok((0, 0)));
    for bad in ["9-17", "09:00", "24:00-25:00", "09:60-10:00", "10:00-10:00", "x", "09:0-10:00", "009:00-10:00"] {
        assert!(parse_hours(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_days("1-5"), Ok(0b001_1111));
    assert_eq!(parse_days("1-5,7"), Ok(0b101_1111));
    assert_eq!(parse_days("6"), Ok(0b010_0000));
    for bad in ["0-5", "1-8", "5-1", "", "mon-fri", "1,,2"] {
        assert!(parse_days(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn office_hours_across_midnight() {
    let night = Office { start: 22 * 60, end: 6 * 60, days: 0x7f };
    assert!(night.is_open(0, 23 * 60) && night.is_open(3, 5 * 60 + 59));
    assert!(!night.is_open(0, 6 * 60) && !night.is_open(0, 12 * 60));
    let day = Office { start: 9 * 60, end: 18 * 60, days: 0b1_1111 };
    assert!(day.is_open(4, 9 * 60) && !day.is_open(4, 18 * 60) && !day.is_open(5, 10 * 60));
}

#[test]
fn routes_by_prefix() {
    let mut r = router(&[("rules", RULES)]);
    assert_eq!(r.route(&call("95123")), Decision::dial("pri-1", ""));
    assert_eq!(r.route(&call("4001")), Decision::script("menu.lua", ["en"]));
    assert_eq!(r.route(&call("1300")), Decision::queue("agents"));
    assert_eq!(r.route(&call("19001")), Decision::Reject { cause: 21 });
    assert_eq!(r.route(&call("90301234")), Decision::dial("pstn", "0301234"));
    assert_eq!(r.route(&call("9")), Decision::NoOpinion, "nothing left to dial after stripping");
    assert_eq!(r.route(&call("9501")), Decision::NoOpinion);
    assert_eq!(r.route(&call("555")), Decision::NoOpinion);
    assert_eq!(r.route(&call("")), Decision::NoOpinion);
    let s = r.stats();
    assert_eq!((s.dial, s.script, s.queue, s.reject, s.no_opinion), (2, 1, 1, 1, 4));
}

#[test]
fn classification_comes_first() {
    let mut r = router(&[("rules", RULES), ("vip_queue", "vip-agents")]);
    let classified = |class| Call::builder().called("95123").classification(class).build();
    assert_eq!(r.route(&classified("blacklist")), Decision::Reject { cause: 21 });
    assert_eq!(r.route(&classified("vip")), Decision::queue("vip-agents"));
    assert_eq!(r.route(&classified("svip")), Decision::queue("vip-agents"));
    assert_eq!(r.route(&classified("normal")), Decision::dial("pri-1", ""));
    assert_eq!(r.route(&classified("")), Decision::dial("pri-1", ""));

    // Without vip_queue a VIP is routed like anyone; blacklisting needs no setting at all.
    let mut r = router(&[("rules", RULES)]);
    assert_eq!(r.route(&classified("vip")), Decision::dial("pri-1", ""));
    assert_eq!(router(&[]).route(&classified("blacklist")), Decision::Reject { cause: 21 });
}

#[test]
fn after_hours_in_local_time() {
    let office = [
        ("rules", RULES),
        ("office_hours", "09:00-18:00"),
        ("office_days", "1-5"),
        ("after_hours", "script:closed.lua"),
        ("vip_queue", "vip"),
    ];
    let mut r = router(&office);
    let at = |ms: i64, offset: i32| Call::builder().called("4001").time(ms, offset).build();
    let open = Decision::script("menu.lua", ["en"]);
    let closed = Decision::script("closed.lua", Vec::<String>::new());
    assert_eq!(r.route(&at(MONDAY + 9 * HOUR, 0)), open);
    assert_eq!(r.route(&at(MONDAY + 9 * HOUR - 1, 0)), closed);
    assert_eq!(r.route(&at(MONDAY + 18 * HOUR - 1, 0)), open);
    assert_eq!(r.route(&at(MONDAY + 18 * HOUR, 0)), closed);
    // 08:30 UTC is 09:30 in CET, 17:30 UTC is 18:30.
    assert_eq!(r.route(&at(MONDAY + 8 * HOUR + HOUR / 2, 60)), open);
    assert_eq!(r.route(&at(MONDAY + 17 * HOUR + HOUR / 2, 60)), closed);
    // Friday open, Saturday and Sunday closed.
    assert_eq!(r.route(&at(MONDAY + 4 * DAY + 12 * HOUR, 0)), open);
    assert_eq!(r.route(&at(MONDAY + 5 * DAY + 12 * HOUR, 0)), closed);
    assert_eq!(r.route(&at(MONDAY + 6 * DAY + 12 * HOUR, 0)), closed);
    // The local day counts: Sunday 23:30 UTC is Monday 09:30 in UTC+10 (open),
    // Monday 01:00 UTC is Sunday 20:00 in UTC-5 (closed).
    assert_eq!(r.route(&at(MONDAY - HOUR / 2, 600)), open);
    assert_eq!(r.route(&at(MONDAY + HOUR, -300)), closed);
    // Blacklist and VIPs are not subject to office hours.
    let sunday = MONDAY - 12 * HOUR;
    let vip = Call::builder().called("4001").classification("vip").time(sunday, 0).build();
    assert_eq!(r.route(&vip), Decision::queue("vip"));

    let mut r = router(&[("office_hours", "09:00-18:00"), ("after_hours", "reject:17")]);
    assert_eq!(r.route(&at(MONDAY + 5 * DAY + 20 * HOUR, 0)), Decision::Reject { cause: 17 });
    assert_eq!(r.route(&at(MONDAY + 5 * DAY + 10 * HOUR, 0)), Decision::NoOpinion, "office_days default: every day");
}

#[test]
fn settings_errors() {
    assert_eq!(init_err(&[("rules", "95=dial:pri-1;400=scrip:menu.lua")]).split(':').next(), Some("rule 2 `400=scrip"));
    assert!(init_err(&[("rule", "95=dial:x")]).starts_with("unknown setting `rule`"));
    assert!(init_err(&[("office_hours", "9-17"), ("after_hours", "reject:17")]).starts_with("office_hours `9-17`"));
    assert!(init_err(&[("office_hours", "09:00-17:00"), ("office_days", "1-8")]).starts_with("office_days `1-8`"));
    assert_eq!(init_err(&[("after_hours", "reject:17")]), "after_hours is set without office_hours");
    assert_eq!(init_err(&[("office_days", "1-5")]), "office_days is set without office_hours");
    assert!(init_err(&[("office_hours", "09:00-17:00"), ("after_hours", "hangup")]).starts_with("after_hours `hangup`"));
    assert!(init_err(&[("vip_queue", "")]).starts_with("vip_queue ``"));
    assert!(PrefixRouter::init(&Settings::default()).is_ok());
}

#[test]
fn events_are_counted() {
    let mut r = router(&[]);
    r.event(&Event::new(1, Event::ANSWERED, 0, 0));
    r.event(&Event::new(1, Event::ENDED, 16, 61_500));
    r.event(&Event::new(2, Event::ENDED, 17, 0));
    r.event(&Event::new(3, "transferred", 0, 0));
    let s = r.stats();
    assert_eq!((s.answered, s.ended, s.talk_ms), (1, 2, 61_500));
    assert!(s.to_string().contains("1 answered, 2 ended, 61 s talk"));
}
