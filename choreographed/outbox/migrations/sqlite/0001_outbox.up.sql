-- Events waiting to be published. A row is written in the same transaction
-- as the state change that emits it and deleted once the broker acknowledged
-- it; rows are published in id order. AUTOINCREMENT: ids are never reused,
-- even after the table was emptied.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT    NOT NULL,
    msg_key    BLOB    NOT NULL,
    msg_value  BLOB    NOT NULL,
    headers    TEXT    NOT NULL, -- JSON array of {"key": ..., "value": base64}
    created_at INTEGER NOT NULL  -- Unix microseconds
);
