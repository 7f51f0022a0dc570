-- Events waiting to be published. A row is written in the same transaction
-- as the state change that emits it and deleted once the broker acknowledged
-- it; rows are published in id order.
CREATE TABLE outbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      TEXT   NOT NULL,
    msg_key    BYTEA  NOT NULL,
    msg_value  BYTEA  NOT NULL,
    headers    TEXT   NOT NULL, -- JSON array of {"key": ..., "value": base64}
    created_at BIGINT NOT NULL  -- Unix microseconds
);
