//! `trunkd demo` sample data: the numbers match the demo's simulated callers.

use super::db::{self, CustomerInput, Role};
use super::lookup::{Level, ListKind};
use super::{create_user, now_ms, CrmError};
use sqlx::{AnyPool, Row};

/// What the demo prints: who can log in with which password.
#[derive(Debug, Clone)]
pub struct SeedInfo {
    /// (login, password, role, contact device)
    pub logins: Vec<(String, String, Role, Option<String>)>,
    pub customers_created: usize,
    pub list_entries_created: usize,
}

const USERS: &[(&str, &str, Role, Option<&str>)] = &[
    ("admin", "Administrator 管理员", Role::Admin, None),
    ("supervisor", "Supervisor 班长", Role::Supervisor, None),
    ("agent1", "Agent 1 坐席一", Role::Agent, Some("phones/0")),
    ("agent2", "Agent 2 坐席二 (VIP)", Role::Agent, Some("vip-desk/0")),
];

/// Idempotent: creates only what is missing (users by login, customers by phone, list
/// entries by kind and pattern).
pub async fn seed_demo(pool: &AnyPool) -> Result<SeedInfo, CrmError> {
    let now = now_ms();
    let mut info = SeedInfo { logins: Vec::new(), customers_created: 0, list_entries_created: 0 };
    for &(login, display, role, contact) in USERS {
        if db::user_id_by_login(pool, login).await?.is_none() {
            create_user(pool, login, display, role, login, contact).await?;
        }
        info.logins.push((login.into(), login.into(), role, contact.map(str::to_string)));
    }
    let agent1 = db::user_id_by_login(pool, "agent1").await?;
    let agent2 = db::user_id_by_login(pool, "agent2").await?;
    let customers = [
        ("Wang Wei 王伟", Level::Vip, agent2, "VIP since 2019; prefers Mandarin. 贵宾客户", "13912345678"),
        ("Li Na 李娜", Level::Normal, agent1, "Asked about the bill last month. 上月咨询账单", "+86 135 0123 4567"),
        ("Zhang Min 张敏", Level::Normal, None, "Office line in Beijing. 北京办公室座机", "010-62345678"),
    ];
    for (name, level, owner_id, notes, phone) in customers {
        let norm = super::numbers::normalize(phone).unwrap_or_default();
        if db::find_customer_by_number(pool, &norm).await?.is_some() {
            continue;
        }
        let input =
            CustomerInput { name: name.into(), level, owner_id, notes: notes.into(), phones: vec![phone.into()] };
        db::create_customer(pool, &input, now).await?;
        info.customers_created += 1;
    }
    let year = 365 * 24 * 3600 * 1000;
    let entries = [
        (ListKind::Blacklist, "13700001111", false, "harassment 骚扰", None),
        (ListKind::Blacklist, "170", true, "virtual operator prefix 虚拟运营商号段", Some(now + year)),
    ];
    for (kind, pattern, is_prefix, reason, expires) in entries {
        let exists = sqlx::query("SELECT COUNT(*) FROM number_list_entry WHERE kind = $1 AND pattern = $2")
            .bind(kind.as_str())
            .bind(pattern)
            .fetch_one(pool)
            .await
            .map_err(db::DbError::from)?
            .try_get::<i64, _>(0)
            .map_err(db::DbError::from)?;
        if exists == 0 {
            db::add_list_entry(pool, kind, pattern, is_prefix, reason, expires, None, now).await?;
            info.list_entries_created += 1;
        }
    }
    Ok(info)
}
