//! Storage: one `AnyPool` for SQLite (default) or PostgreSQL, one set of migrations, and
//! every query the CRM runs. Queries use `$n` placeholders and runtime binds only (no
//! compile-time checked macros), so the same text runs on both databases.
//!
//! Times are epoch milliseconds (`i64`): the Any driver has no date types.

use super::lookup::{CustomerRef, Level, ListEntry, ListKind};
use super::numbers;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database said no (connection, constraint, syntax).
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed; the database is left at the previous version.
    #[error("migration {version} ({name}): {source}")]
    Migration { version: i64, name: &'static str, source: sqlx::Error },
    /// Only `sqlite:` and `postgres:` URLs are supported.
    #[error("unsupported database URL scheme (want sqlite: or postgres:)")]
    UnsupportedUrl,
    /// A stored value we cannot interpret (e.g. an unknown role).
    #[error("bad stored value in {0}")]
    BadValue(&'static str),
}

/// Which SQL dialect the pool speaks (for the few migration tokens that differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }
}

/// Opens a pool and brings the schema up to date.
pub async fn open(url: &str) -> Result<AnyPool, DbError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_url(url)?;
    let max = if backend == Backend::Sqlite { 4 } else { 10 };
    let pool = AnyPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
    if backend == Backend::Sqlite {
        // WAL lets the web UI read while the gateway client writes; the setting is
        // persistent in the file.
        sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
    }
    migrate(&pool, backend).await?;
    Ok(pool)
}

/// The migrations, in order. Never edit one that shipped; add a new file.
const MIGRATIONS: &[(i64, &str, &str)] = &[(1, "init", include_str!("migrations/0001_init.sql"))];

fn render(sql: &str, backend: Backend) -> String {
    let (id, text, ops) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT COLLATE NOCASE", ""),
        Backend::Postgres => ("BIGSERIAL PRIMARY KEY", "TEXT", "text_pattern_ops"),
    };
    sql.replace("{{ID}}", id).replace("{{PREFIX_TEXT}}", text).replace("{{PREFIX_OPS}}", ops)
}

/// Splits a migration into statements (`;` at a line end; `--` comment lines dropped).
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines() {
        let t = line.trim();
        if t.starts_with("--") || t.is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if t.ends_with(';') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Applies the migrations not yet recorded in `schema_migrations`, each in a transaction.
pub async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), DbError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    for &(version, name, sql) in MIGRATIONS {
        let done: Option<i64> = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if done.is_some() {
            continue;
        }
        let wrap = |source| DbError::Migration { version, name, source };
        let mut tx = pool.begin().await.map_err(wrap)?;
        for stmt in statements(&render(sql, backend)) {
            sqlx::query(&stmt).execute(&mut *tx).await.map_err(wrap)?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(version)
            .bind(name)
            .bind(super::now_ms())
            .execute(&mut *tx)
            .await
            .map_err(wrap)?;
        tx.commit().await.map_err(wrap)?;
        tracing::info!(version, name, "crm: migration applied");
    }
    Ok(())
}

// ---------------------------------------------------------------- users and sessions

/// What a user may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub contact: Option<String>,
    pub lang: Option<String>,
}

const USER_COLS: &str = "u.id, u.login, u.display_name, u.role, u.contact, u.lang";

fn user_from(r: &AnyRow) -> Result<User, DbError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        login: r.try_get("login")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or(DbError::BadValue("app_user.role"))?,
        contact: r.try_get("contact")?,
        lang: r.try_get("lang")?,
    })
}

pub async fn insert_user(
    pool: &AnyPool,
    login: &str,
    display: &str,
    role: Role,
    password_hash: &str,
    contact: Option<&str>,
    now: i64,
) -> Result<i64, DbError> {
    let row = sqlx::query(
        "INSERT INTO app_user (login, display_name, role, password_hash, contact, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(login)
    .bind(display)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(contact.map(str::to_string))
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(row.try_get(0)?)
}

pub async fn user_id_by_login(pool: &AnyPool, login: &str) -> Result<Option<i64>, DbError> {
    let r = sqlx::query("SELECT id FROM app_user WHERE login = $1").bind(login).fetch_optional(pool).await?;
    Ok(r.map(|r| r.try_get(0)).transpose()?)
}

/// The user and password hash for a login attempt (active users only).
pub async fn user_for_login(pool: &AnyPool, login: &str) -> Result<Option<(User, String)>, DbError> {
    let r = sqlx::query(&format!(
        "SELECT {USER_COLS}, u.password_hash FROM app_user u WHERE u.login = $1 AND u.active = 1"
    ))
    .bind(login)
    .fetch_optional(pool)
    .await?;
    match r {
        Some(r) => Ok(Some((user_from(&r)?, r.try_get("password_hash")?))),
        None => Ok(None),
    }
}

/// The (active) user whose contact device is `device`, e.g. `phones/2`.
pub async fn user_by_contact(pool: &AnyPool, device: &str) -> Result<Option<User>, DbError> {
    let r = sqlx::query(&format!(
        "SELECT {USER_COLS} FROM app_user u WHERE u.contact = $1 AND u.active = 1 ORDER BY u.id LIMIT 1"
    ))
    .bind(device)
    .fetch_optional(pool)
    .await?;
    r.as_ref().map(user_from).transpose()
}

pub async fn list_users(pool: &AnyPool) -> Result<Vec<User>, DbError> {
    let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM app_user u ORDER BY u.login")).fetch_all(pool).await?;
    rows.iter().map(user_from).collect()
}

pub async fn set_user_lang(pool: &AnyPool, user_id: i64, lang: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE app_user SET lang = $1 WHERE id = $2").bind(lang).bind(user_id).execute(pool).await?;
    Ok(())
}

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub csrf: String,
    pub user: User,
}

pub async fn insert_session(
    pool: &AnyPool,
    token: &str,
    csrf: &str,
    user_id: i64,
    now: i64,
    expires: i64,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO app_session (token, csrf, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token)
        .bind(csrf)
        .bind(user_id)
        .bind(now)
        .bind(expires)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn session(pool: &AnyPool, token: &str, now: i64) -> Result<Option<Session>, DbError> {
    let r = sqlx::query(&format!(
        "SELECT {USER_COLS}, s.token, s.csrf FROM app_session s JOIN app_user u ON u.id = s.user_id \
         WHERE s.token = $1 AND s.expires_at > $2 AND u.active = 1"
    ))
    .bind(token)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    match r {
        Some(r) => Ok(Some(Session { token: r.try_get("token")?, csrf: r.try_get("csrf")?, user: user_from(&r)? })),
        None => Ok(None),
    }
}

pub async fn delete_session(pool: &AnyPool, token: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM app_session WHERE token = $1").bind(token).execute(pool).await?;
    Ok(())
}

pub async fn purge_sessions(pool: &AnyPool, now: i64) -> Result<u64, DbError> {
    Ok(sqlx::query("DELETE FROM app_session WHERE expires_at <= $1").bind(now).execute(pool).await?.rows_affected())
}

// ---------------------------------------------------------------- customers

#[derive(Debug, Clone, serde::Serialize)]
pub struct Phone {
    pub number: String,
    pub normalized: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub level: Level,
    pub owner_id: Option<i64>,
    pub owner_login: Option<String>,
    pub owner_name: Option<String>,
    pub owner_device: Option<String>,
    pub notes: String,
    pub phones: Vec<Phone>,
    pub updated_at: i64,
}

/// Input for creating or editing a customer; phones as entered.
#[derive(Debug, Clone)]
pub struct CustomerInput {
    pub name: String,
    pub level: Level,
    pub owner_id: Option<i64>,
    pub notes: String,
    pub phones: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error("name is empty")]
    EmptyName,
    #[error("not a phone number: {0}")]
    BadPhone(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for CustomerError {
    fn from(e: sqlx::Error) -> Self {
        CustomerError::Db(DbError::Sqlx(e))
    }
}

fn check_customer(input: &CustomerInput) -> Result<Vec<(String, String)>, CustomerError> {
    if input.name.trim().is_empty() {
        return Err(CustomerError::EmptyName);
    }
    input
        .phones
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| match numbers::normalize(p) {
            Some(n) => Ok((p.trim().to_string(), n)),
            None => Err(CustomerError::BadPhone(p.clone())),
        })
        .collect()
}

async fn replace_phones(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    customer_id: i64,
    phones: &[(String, String)],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM customer_phone WHERE customer_id = $1").bind(customer_id).execute(&mut **tx).await?;
    for (raw, norm) in phones {
        sqlx::query("INSERT INTO customer_phone (customer_id, number, normalized, reversed) VALUES ($1, $2, $3, $4)")
            .bind(customer_id)
            .bind(raw)
            .bind(norm)
            .bind(numbers::reversed(norm))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn create_customer(pool: &AnyPool, input: &CustomerInput, now: i64) -> Result<i64, CustomerError> {
    let phones = check_customer(input)?;
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO customer (name, level, owner_id, notes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(input.name.trim())
    .bind(input.level.as_str())
    .bind(input.owner_id)
    .bind(&input.notes)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    replace_phones(&mut tx, id, &phones).await?;
    tx.commit().await?;
    Ok(id)
}

/// Returns false when there is no such customer.
pub async fn update_customer(pool: &AnyPool, id: i64, input: &CustomerInput, now: i64) -> Result<bool, CustomerError> {
    let phones = check_customer(input)?;
    let mut tx = pool.begin().await?;
    let n = sqlx::query(
        "UPDATE customer SET name = $1, level = $2, owner_id = $3, notes = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(input.name.trim())
    .bind(input.level.as_str())
    .bind(input.owner_id)
    .bind(&input.notes)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    replace_phones(&mut tx, id, &phones).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn delete_customer(pool: &AnyPool, id: i64) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    // Explicit: SQLite only cascades with foreign keys on.
    sqlx::query("DELETE FROM customer_phone WHERE customer_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("UPDATE call_leg SET customer_id = NULL WHERE customer_id = $1").bind(id).execute(&mut *tx).await?;
    let n = sqlx::query("DELETE FROM customer WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(n > 0)
}

const CUSTOMER_SELECT: &str = "SELECT c.id, c.name, c.level, c.owner_id, c.notes, c.updated_at, \
     u.login AS owner_login, u.display_name AS owner_name, u.contact AS owner_device, \
     p.number AS phone_number, p.normalized AS phone_normalized \
     FROM customer c LEFT JOIN app_user u ON u.id = c.owner_id LEFT JOIN customer_phone p ON p.customer_id = c.id";

/// Folds joined customer/phone rows (ordered by customer) into customers.
fn customers_from(rows: &[AnyRow]) -> Result<Vec<Customer>, DbError> {
    let mut out: Vec<Customer> = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        if out.last().is_none_or(|c| c.id != id) {
            let level: String = r.try_get("level")?;
            out.push(Customer {
                id,
                name: r.try_get("name")?,
                level: Level::parse(&level).unwrap_or(Level::Normal),
                owner_id: r.try_get("owner_id")?,
                owner_login: r.try_get("owner_login")?,
                owner_name: r.try_get("owner_name")?,
                owner_device: r.try_get("owner_device")?,
                notes: r.try_get("notes")?,
                phones: Vec::new(),
                updated_at: r.try_get("updated_at")?,
            });
        }
        let number: Option<String> = r.try_get("phone_number")?;
        let normalized: Option<String> = r.try_get("phone_normalized")?;
        if let (Some(number), Some(normalized), Some(c)) = (number, normalized, out.last_mut()) {
            c.phones.push(Phone { number, normalized });
        }
    }
    Ok(out)
}

pub async fn customer(pool: &AnyPool, id: i64) -> Result<Option<Customer>, DbError> {
    let rows =
        sqlx::query(&format!("{CUSTOMER_SELECT} WHERE c.id = $1 ORDER BY p.id")).bind(id).fetch_all(pool).await?;
    Ok(customers_from(&rows)?.into_iter().next())
}

/// Customers whose name contains `q` (ASCII case-insensitive) or who have a phone whose
/// normalized form contains the digits of `q`; all when `q` is empty.
pub async fn search_customers(pool: &AnyPool, q: &str, limit: i64) -> Result<Vec<Customer>, DbError> {
    let q = q.trim();
    let name_pat = format!("%{}%", like_escape(&q.to_lowercase()));
    let digits = numbers::normalize(q).filter(|n| n.len() >= 3);
    let phone_pat = digits.map(|d| format!("%{}%", like_escape(&d))).unwrap_or_else(|| "\u{1}".into());
    let rows = sqlx::query(&format!(
        "{CUSTOMER_SELECT} WHERE c.id IN (SELECT c3.id FROM customer c3 WHERE c3.id IN \
         (SELECT c2.id FROM customer c2 WHERE LOWER(c2.name) LIKE $1 \
         UNION SELECT p2.customer_id FROM customer_phone p2 WHERE p2.normalized LIKE $2) \
         ORDER BY c3.name, c3.id LIMIT $3) \
         ORDER BY c.name, c.id, p.id"
    ))
    .bind(name_pat)
    .bind(phone_pat)
    .bind(limit.max(0))
    .fetch_all(pool)
    .await?;
    let mut v = customers_from(&rows)?;
    v.truncate(limit.max(0) as usize);
    Ok(v)
}

/// `%` and `_` typed by a user are literal: we drop them rather than escape, since the
/// two dialects disagree on the default escape character.
fn like_escape(s: &str) -> String {
    s.chars().filter(|c| *c != '%' && *c != '_' && *c != '\\').collect()
}

/// The customer for a caller: exact normalized number first, else an unambiguous suffix
/// match of a local number against landlines stored with an area code.
pub async fn find_customer_by_number(pool: &AnyPool, normalized: &str) -> Result<Option<CustomerRef>, DbError> {
    const SEL: &str = "SELECT c.id, c.name, c.level, u.login, u.contact, p.normalized FROM customer_phone p \
         JOIN customer c ON c.id = p.customer_id LEFT JOIN app_user u ON u.id = c.owner_id";
    let to_ref = |r: &AnyRow| -> Result<CustomerRef, DbError> {
        let level: String = r.try_get("level")?;
        Ok(CustomerRef {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            level: Level::parse(&level).unwrap_or(Level::Normal),
            owner: r.try_get("login")?,
            owner_device: r.try_get("contact")?,
        })
    };
    let exact = sqlx::query(&format!("{SEL} WHERE p.normalized = $1 ORDER BY c.id LIMIT 1"))
        .bind(normalized)
        .fetch_optional(pool)
        .await?;
    if let Some(r) = exact {
        return Ok(Some(to_ref(&r)?));
    }
    if !numbers::is_local_without_area(normalized) {
        return Ok(None);
    }
    let rows = sqlx::query(&format!("{SEL} WHERE p.reversed LIKE $1 ORDER BY c.id LIMIT 20"))
        .bind(format!("{}%", numbers::reversed(normalized)))
        .fetch_all(pool)
        .await?;
    let mut found: Option<CustomerRef> = None;
    for r in &rows {
        let stored: String = r.try_get("normalized")?;
        if !numbers::suffix_matches(&stored, normalized) {
            continue;
        }
        let c = to_ref(r)?;
        match &found {
            Some(f) if f.id != c.id => return Ok(None), // ambiguous: two customers
            Some(_) => {}
            None => found = Some(c),
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------- number lists

#[derive(Debug, Clone)]
pub struct ListRow {
    pub entry: ListEntry,
    pub created_at: i64,
}

fn entry_from(r: &AnyRow) -> Result<ListEntry, DbError> {
    let kind: String = r.try_get("kind")?;
    let is_prefix: i64 = r.try_get("is_prefix")?;
    Ok(ListEntry {
        id: r.try_get("id")?,
        kind: ListKind::parse(&kind).ok_or(DbError::BadValue("number_list_entry.kind"))?,
        pattern: r.try_get("pattern")?,
        is_prefix: is_prefix != 0,
        reason: r.try_get("reason")?,
        expires_at: r.try_get("expires_at")?,
    })
}

const ENTRY_COLS: &str = "id, kind, pattern, is_prefix, reason, expires_at, created_at";

/// Entries whose pattern equals the number or (prefix entries) starts it; expiry is the
/// classifier's business.
pub async fn list_entries_matching(pool: &AnyPool, normalized: &str) -> Result<Vec<ListEntry>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLS} FROM number_list_entry WHERE (is_prefix = 0 AND pattern = $1) OR (is_prefix = 1 AND $2 LIKE (pattern || '%'))"
    ))
    .bind(normalized)
    .bind(normalized)
    .fetch_all(pool)
    .await?;
    rows.iter().map(entry_from).collect()
}

pub async fn list_entries(pool: &AnyPool) -> Result<Vec<ListRow>, DbError> {
    let rows = sqlx::query(&format!("SELECT {ENTRY_COLS} FROM number_list_entry ORDER BY kind, pattern"))
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok(ListRow { entry: entry_from(r)?, created_at: r.try_get("created_at")? })).collect()
}

/// Adds an entry; `pattern` is normalized here (a number, or a prefix when `is_prefix`).
/// `None` when the pattern is not a number.
#[allow(clippy::too_many_arguments)] // one argument per column
pub async fn add_list_entry(
    pool: &AnyPool,
    kind: ListKind,
    pattern: &str,
    is_prefix: bool,
    reason: &str,
    expires_at: Option<i64>,
    created_by: Option<i64>,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let norm = if is_prefix { numbers::normalize_prefix(pattern) } else { numbers::normalize(pattern) };
    let Some(norm) = norm else { return Ok(None) };
    let row = sqlx::query(
        "INSERT INTO number_list_entry (kind, pattern, is_prefix, reason, expires_at, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(norm)
    .bind(i64::from(is_prefix))
    .bind(reason)
    .bind(expires_at)
    .bind(now)
    .bind(created_by)
    .fetch_one(pool)
    .await?;
    Ok(Some(row.try_get(0)?))
}

pub async fn delete_list_entry(pool: &AnyPool, id: i64) -> Result<bool, DbError> {
    Ok(sqlx::query("DELETE FROM number_list_entry WHERE id = $1").bind(id).execute(pool).await?.rows_affected() > 0)
}

pub async fn set_list_entry_expiry(pool: &AnyPool, id: i64, expires_at: Option<i64>) -> Result<bool, DbError> {
    Ok(sqlx::query("UPDATE number_list_entry SET expires_at = $1 WHERE id = $2")
        .bind(expires_at)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
        > 0)
}

// ---------------------------------------------------------------- gateway events and calls

pub async fn cursor(pool: &AnyPool, gateway: &str) -> Result<Option<i64>, DbError> {
    let r = sqlx::query("SELECT seq FROM gateway_cursor WHERE gateway = $1").bind(gateway).fetch_optional(pool).await?;
    Ok(r.map(|r| r.try_get(0)).transpose()?)
}

/// Moves a gateway's cursor back (its journal was reset: numbering started again).
pub async fn reset_cursor(pool: &AnyPool, gateway: &str, seq: i64, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE gateway_cursor SET seq = $2, updated_at = $3 WHERE gateway = $1")
        .bind(gateway)
        .bind(seq)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// Column values for one call leg; `None` leaves the stored value alone.
#[derive(Debug, Clone, Default)]
pub struct LegUpdate {
    pub call_id: String,
    pub leg_id: String,
    pub direction: Option<String>,
    pub device: Option<String>,
    pub state: Option<String>,
    pub from_number: Option<String>,
    pub from_name: Option<String>,
    pub to_number: Option<String>,
    pub start_ms: Option<i64>,
    pub answer_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    pub route: Option<String>,
    pub class: Option<String>,
    pub customer_id: Option<i64>,
    pub agent_user_id: Option<i64>,
    pub agent_device: Option<String>,
    pub cause_code: Option<i64>,
    pub cause_name: Option<String>,
    pub recording: Option<String>,
    pub ivr_path: Option<String>,
    pub cdr: Option<String>,
    pub seq: Option<i64>,
}

const UPSERT_LEG: &str = "INSERT INTO call_leg (gateway, call_id, leg_id, direction, device, state, from_number, from_name, \
     from_normalized, to_number, start_ms, answer_ms, end_ms, talk_ms, route, class, customer_id, agent_user_id, \
     agent_device, cause_code, cause_name, recording, ivr_path, cdr, last_seq, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26) \
     ON CONFLICT (gateway, leg_id) DO UPDATE SET \
     direction = COALESCE(excluded.direction, call_leg.direction), \
     device = COALESCE(excluded.device, call_leg.device), \
     state = CASE WHEN excluded.state IS NOT NULL AND (call_leg.last_seq IS NULL OR excluded.last_seq IS NULL \
         OR excluded.last_seq >= call_leg.last_seq) THEN excluded.state ELSE call_leg.state END, \
     from_number = COALESCE(excluded.from_number, call_leg.from_number), \
     from_name = COALESCE(excluded.from_name, call_leg.from_name), \
     from_normalized = COALESCE(excluded.from_normalized, call_leg.from_normalized), \
     to_number = COALESCE(excluded.to_number, call_leg.to_number), \
     start_ms = COALESCE(call_leg.start_ms, excluded.start_ms), \
     answer_ms = COALESCE(excluded.answer_ms, call_leg.answer_ms), \
     end_ms = COALESCE(excluded.end_ms, call_leg.end_ms), \
     talk_ms = COALESCE(excluded.talk_ms, call_leg.talk_ms), \
     route = COALESCE(excluded.route, call_leg.route), \
     class = COALESCE(excluded.class, call_leg.class), \
     customer_id = COALESCE(excluded.customer_id, call_leg.customer_id), \
     agent_user_id = COALESCE(excluded.agent_user_id, call_leg.agent_user_id), \
     agent_device = COALESCE(excluded.agent_device, call_leg.agent_device), \
     cause_code = COALESCE(excluded.cause_code, call_leg.cause_code), \
     cause_name = COALESCE(excluded.cause_name, call_leg.cause_name), \
     recording = COALESCE(excluded.recording, call_leg.recording), \
     ivr_path = COALESCE(excluded.ivr_path, call_leg.ivr_path), \
     cdr = COALESCE(excluded.cdr, call_leg.cdr), \
     last_seq = CASE WHEN call_leg.last_seq IS NULL OR excluded.last_seq > call_leg.last_seq \
         THEN excluded.last_seq ELSE call_leg.last_seq END, \
     updated_at = excluded.updated_at";

pub async fn upsert_leg<'e, E>(ex: E, gateway: &str, u: &LegUpdate, now: i64) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let from_norm = u.from_number.as_deref().and_then(numbers::normalize);
    sqlx::query(UPSERT_LEG)
        .bind(gateway)
        .bind(&u.call_id)
        .bind(&u.leg_id)
        .bind(u.direction.clone())
        .bind(u.device.clone())
        .bind(u.state.clone())
        .bind(u.from_number.clone())
        .bind(u.from_name.clone())
        .bind(from_norm)
        .bind(u.to_number.clone())
        .bind(u.start_ms)
        .bind(u.answer_ms)
        .bind(u.end_ms)
        .bind(u.talk_ms)
        .bind(u.route.clone())
        .bind(u.class.clone())
        .bind(u.customer_id)
        .bind(u.agent_user_id)
        .bind(u.agent_device.clone())
        .bind(u.cause_code)
        .bind(u.cause_name.clone())
        .bind(u.recording.clone())
        .bind(u.ivr_path.clone())
        .bind(u.cdr.clone())
        .bind(u.seq)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// One event as stored: the envelope's keys plus the raw JSON.
#[derive(Debug, Clone)]
pub struct EventRecord<'a> {
    pub seq: i64,
    pub kind: &'a str,
    pub call_id: Option<&'a str>,
    pub leg_id: Option<&'a str>,
    pub ts_ms: Option<i64>,
    pub body: &'a str,
}

/// Stores an event, its effect on the call leg, and advances the gateway cursor, in one
/// transaction. Returns false (and stores nothing) when `seq` is not after the cursor:
/// replays after a reconnect are harmless.
pub async fn store_event(
    pool: &AnyPool,
    gateway: &str,
    ev: &EventRecord<'_>,
    leg: Option<&LegUpdate>,
    now: i64,
) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    // Write first: SQLite then takes its write lock now, waiting its busy timeout for
    // other writers, instead of failing at once when a read transaction must upgrade;
    // PostgreSQL locks the cursor row, so two stores of one gateway cannot interleave.
    sqlx::query("UPDATE gateway_cursor SET updated_at = updated_at WHERE gateway = $1")
        .bind(gateway)
        .execute(&mut *tx)
        .await?;
    let cur: Option<i64> = sqlx::query("SELECT seq FROM gateway_cursor WHERE gateway = $1")
        .bind(gateway)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    if cur.is_some_and(|c| ev.seq <= c) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO call_event (gateway, seq, type, call_id, leg_id, ts_ms, body) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (gateway, seq) DO NOTHING",
    )
    .bind(gateway)
    .bind(ev.seq)
    .bind(ev.kind)
    .bind(ev.call_id.map(str::to_string))
    .bind(ev.leg_id.map(str::to_string))
    .bind(ev.ts_ms)
    .bind(ev.body)
    .execute(&mut *tx)
    .await?;
    if let Some(leg) = leg {
        upsert_leg(&mut *tx, gateway, leg, now).await?;
    }
    sqlx::query(
        "INSERT INTO gateway_cursor (gateway, seq, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (gateway) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
    )
    .bind(gateway)
    .bind(ev.seq)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Stores a call detail record (from `call.ended` or a `cdr.query` backfill).
pub async fn store_cdr(pool: &AnyPool, gateway: &str, leg: &LegUpdate, now: i64) -> Result<(), DbError> {
    upsert_leg(pool, gateway, leg, now).await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CallRow {
    pub gateway: String,
    pub call_id: String,
    pub leg_id: String,
    pub direction: Option<String>,
    pub device: Option<String>,
    pub state: Option<String>,
    pub from_number: Option<String>,
    pub from_name: Option<String>,
    pub to_number: Option<String>,
    pub start_ms: Option<i64>,
    pub answer_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    pub route: Option<String>,
    pub class: Option<String>,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub agent_device: Option<String>,
    pub agent_login: Option<String>,
    pub cause_code: Option<i64>,
    pub cause_name: Option<String>,
    pub recording: Option<String>,
    pub ivr_path: Option<String>,
}

const CALL_SELECT: &str = "SELECT l.gateway, l.call_id, l.leg_id, l.direction, l.device, l.state, l.from_number, \
     l.from_name, l.to_number, l.start_ms, l.answer_ms, l.end_ms, l.talk_ms, l.route, l.class, l.customer_id, \
     c.name AS customer_name, l.agent_device, u.login AS agent_login, l.cause_code, l.cause_name, l.recording, l.ivr_path \
     FROM call_leg l LEFT JOIN customer c ON c.id = l.customer_id LEFT JOIN app_user u ON u.id = l.agent_user_id";

fn call_from(r: &AnyRow) -> Result<CallRow, DbError> {
    Ok(CallRow {
        gateway: r.try_get("gateway")?,
        call_id: r.try_get("call_id")?,
        leg_id: r.try_get("leg_id")?,
        direction: r.try_get("direction")?,
        device: r.try_get("device")?,
        state: r.try_get("state")?,
        from_number: r.try_get("from_number")?,
        from_name: r.try_get("from_name")?,
        to_number: r.try_get("to_number")?,
        start_ms: r.try_get("start_ms")?,
        answer_ms: r.try_get("answer_ms")?,
        end_ms: r.try_get("end_ms")?,
        talk_ms: r.try_get("talk_ms")?,
        route: r.try_get("route")?,
        class: r.try_get("class")?,
        customer_id: r.try_get("customer_id")?,
        customer_name: r.try_get("customer_name")?,
        agent_device: r.try_get("agent_device")?,
        agent_login: r.try_get("agent_login")?,
        cause_code: r.try_get("cause_code")?,
        cause_name: r.try_get("cause_name")?,
        recording: r.try_get("recording")?,
        ivr_path: r.try_get("ivr_path")?,
    })
}

pub async fn call_by_leg(pool: &AnyPool, leg_id: &str) -> Result<Option<CallRow>, DbError> {
    let r = sqlx::query(&format!("{CALL_SELECT} WHERE l.leg_id = $1 ORDER BY l.id LIMIT 1"))
        .bind(leg_id)
        .fetch_optional(pool)
        .await?;
    r.as_ref().map(call_from).transpose()
}

/// Call history, newest first; `number` (normalized) or `customer_id` narrow it.
pub async fn calls(
    pool: &AnyPool,
    number: Option<&str>,
    customer_id: Option<i64>,
    limit: i64,
) -> Result<Vec<CallRow>, DbError> {
    let rows = sqlx::query(&format!(
        "{CALL_SELECT} WHERE ($1 = '' OR l.from_normalized = $2) AND ($3 < 0 OR l.customer_id = $4) \
         ORDER BY l.start_ms DESC, l.id DESC LIMIT $5"
    ))
    .bind(number.unwrap_or(""))
    .bind(number.unwrap_or(""))
    .bind(customer_id.unwrap_or(-1))
    .bind(customer_id.unwrap_or(-1))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(call_from).collect()
}

/// The last `limit` calls (one leg per call, the one with a recording if any) of a number
/// or customer, except the call `exclude_call_id`.
pub async fn recent_calls(
    pool: &AnyPool,
    normalized: Option<&str>,
    customer_id: Option<i64>,
    exclude_call_id: &str,
    limit: usize,
) -> Result<Vec<CallRow>, DbError> {
    let rows = sqlx::query(&format!(
        "{CALL_SELECT} WHERE (l.from_normalized = $1 OR l.customer_id = $2) AND l.call_id <> $3 \
         ORDER BY l.start_ms DESC, l.id DESC LIMIT 40"
    ))
    .bind(normalized.unwrap_or("\u{1}"))
    .bind(customer_id.unwrap_or(-1))
    .bind(exclude_call_id)
    .fetch_all(pool)
    .await?;
    let mut out: Vec<CallRow> = Vec::new();
    for r in &rows {
        let c = call_from(r)?;
        if let Some(o) = out.iter_mut().find(|o| o.call_id == c.call_id) {
            if o.recording.is_none() && c.recording.is_some() {
                *o = c;
            }
        } else if out.len() < limit {
            out.push(c);
        }
    }
    Ok(out)
}

/// Legs not ended, touched within `max_age_ms`.
pub async fn live_calls(pool: &AnyPool, now: i64, max_age_ms: i64) -> Result<Vec<CallRow>, DbError> {
    let rows =
        sqlx::query(&format!("{CALL_SELECT} WHERE l.end_ms IS NULL AND l.updated_at > $1 ORDER BY l.start_ms, l.id"))
            .bind(now - max_age_ms)
            .fetch_all(pool)
            .await?;
    rows.iter().map(call_from).collect()
}

// ---------------------------------------------------------------- screen pops

#[allow(clippy::too_many_arguments)] // one argument per column
pub async fn insert_pop(
    pool: &AnyPool,
    user_id: i64,
    gateway: &str,
    call_id: &str,
    leg_id: &str,
    payload: &str,
    event_ts_ms: Option<i64>,
    now: i64,
) -> Result<i64, DbError> {
    let r = sqlx::query(
        "INSERT INTO pop (user_id, gateway, call_id, leg_id, payload, event_ts_ms, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(user_id)
    .bind(gateway)
    .bind(call_id)
    .bind(leg_id)
    .bind(payload)
    .bind(event_ts_ms)
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(r.try_get(0)?)
}

#[derive(Debug, Clone)]
pub struct PopRow {
    pub id: i64,
    pub user_id: i64,
    pub call_id: String,
    pub leg_id: String,
    pub payload: String,
    pub event_ts_ms: Option<i64>,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
    pub acked_ms: Option<i64>,
}

const POP_COLS: &str = "id, user_id, call_id, leg_id, payload, event_ts_ms, created_ms, delivered_ms, acked_ms";

fn pop_from(r: &AnyRow) -> Result<PopRow, DbError> {
    Ok(PopRow {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        call_id: r.try_get("call_id")?,
        leg_id: r.try_get("leg_id")?,
        payload: r.try_get("payload")?,
        event_ts_ms: r.try_get("event_ts_ms")?,
        created_ms: r.try_get("created_ms")?,
        delivered_ms: r.try_get("delivered_ms")?,
        acked_ms: r.try_get("acked_ms")?,
    })
}

pub async fn pop(pool: &AnyPool, id: i64) -> Result<Option<PopRow>, DbError> {
    let r = sqlx::query(&format!("SELECT {POP_COLS} FROM pop WHERE id = $1")).bind(id).fetch_optional(pool).await?;
    r.as_ref().map(pop_from).transpose()
}

/// Pops of `user_id` not acknowledged, created after `since_ms`, oldest first.
pub async fn unacked_pops(pool: &AnyPool, user_id: i64, since_ms: i64) -> Result<Vec<PopRow>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {POP_COLS} FROM pop WHERE user_id = $1 AND acked_ms IS NULL AND created_ms > $2 ORDER BY id"
    ))
    .bind(user_id)
    .bind(since_ms)
    .fetch_all(pool)
    .await?;
    rows.iter().map(pop_from).collect()
}

/// Pops for a leg (to push its call state to the cards showing it).
pub async fn pops_for_leg(pool: &AnyPool, leg_id: &str) -> Result<Vec<PopRow>, DbError> {
    let rows = sqlx::query(&format!("SELECT {POP_COLS} FROM pop WHERE leg_id = $1 ORDER BY id"))
        .bind(leg_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(pop_from).collect()
}

pub async fn mark_pop_delivered(pool: &AnyPool, id: i64, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE pop SET delivered_ms = $1 WHERE id = $2 AND delivered_ms IS NULL")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Acknowledges a pop of this user; false if it is not theirs or already acked.
pub async fn ack_pop(pool: &AnyPool, id: i64, user_id: i64, now: i64) -> Result<bool, DbError> {
    let n = sqlx::query(
        "UPDATE pop SET acked_ms = $1, delivered_ms = COALESCE(delivered_ms, $2) WHERE id = $3 AND user_id = $4 AND acked_ms IS NULL",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements() {
        let s = statements("-- c\nCREATE TABLE a (x BIGINT);\n\nCREATE INDEX i ON a (x);\n");
        assert_eq!(s.len(), 2);
        assert!(render(MIGRATIONS[0].2, Backend::Postgres).contains("BIGSERIAL"));
        assert!(!render(MIGRATIONS[0].2, Backend::Sqlite).contains("{{"));
    }
}
