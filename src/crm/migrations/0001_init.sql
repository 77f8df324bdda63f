-- CRM schema, portable between SQLite and PostgreSQL.
-- Tokens: {{ID}} = auto-increment primary key; {{PREFIX_TEXT}} = a text column whose
-- `LIKE 'abc%'` can use an index ({{PREFIX_OPS}} goes into that index).
-- Times are BIGINT epoch milliseconds; flags are BIGINT 0/1.

CREATE TABLE app_user (
    id {{ID}},
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    contact TEXT,
    lang TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX app_user_contact ON app_user (contact);

CREATE TABLE app_session (
    token TEXT PRIMARY KEY,
    csrf TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE customer (
    id {{ID}},
    name TEXT NOT NULL,
    level TEXT NOT NULL DEFAULT 'normal',
    owner_id BIGINT REFERENCES app_user (id) ON DELETE SET NULL,
    notes TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX customer_name ON customer (name);

CREATE TABLE customer_phone (
    id {{ID}},
    customer_id BIGINT NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    normalized TEXT NOT NULL,
    reversed {{PREFIX_TEXT}} NOT NULL
);
CREATE INDEX customer_phone_customer ON customer_phone (customer_id);
CREATE INDEX customer_phone_normalized ON customer_phone (normalized);
CREATE INDEX customer_phone_reversed ON customer_phone (reversed {{PREFIX_OPS}});

CREATE TABLE number_list_entry (
    id {{ID}},
    kind TEXT NOT NULL,
    pattern TEXT NOT NULL,
    is_prefix BIGINT NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    created_by BIGINT REFERENCES app_user (id) ON DELETE SET NULL
);
CREATE INDEX number_list_entry_pattern ON number_list_entry (pattern);

CREATE TABLE gateway_cursor (
    gateway TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE call_leg (
    id {{ID}},
    gateway TEXT NOT NULL,
    call_id TEXT NOT NULL,
    leg_id TEXT NOT NULL,
    direction TEXT,
    device TEXT,
    state TEXT,
    from_number TEXT,
    from_name TEXT,
    from_normalized TEXT,
    to_number TEXT,
    start_ms BIGINT,
    answer_ms BIGINT,
    end_ms BIGINT,
    talk_ms BIGINT,
    route TEXT,
    class TEXT,
    customer_id BIGINT REFERENCES customer (id) ON DELETE SET NULL,
    agent_user_id BIGINT REFERENCES app_user (id) ON DELETE SET NULL,
    agent_device TEXT,
    cause_code BIGINT,
    cause_name TEXT,
    recording TEXT,
    ivr_path TEXT,
    cdr TEXT,
    last_seq BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (gateway, leg_id)
);
CREATE INDEX call_leg_call ON call_leg (call_id);
CREATE INDEX call_leg_from ON call_leg (from_normalized, start_ms);
CREATE INDEX call_leg_customer ON call_leg (customer_id, start_ms);
CREATE INDEX call_leg_start ON call_leg (start_ms);
CREATE INDEX call_leg_open ON call_leg (end_ms, updated_at);

CREATE TABLE call_event (
    id {{ID}},
    gateway TEXT NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    call_id TEXT,
    leg_id TEXT,
    ts_ms BIGINT,
    body TEXT NOT NULL,
    UNIQUE (gateway, seq)
);
CREATE INDEX call_event_leg ON call_event (leg_id);

CREATE TABLE pop (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    gateway TEXT NOT NULL,
    call_id TEXT NOT NULL,
    leg_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    event_ts_ms BIGINT,
    created_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    acked_ms BIGINT
);
CREATE INDEX pop_user ON pop (user_id, acked_ms);
CREATE INDEX pop_leg ON pop (leg_id);
