-- Events a consumer (a service's consumer group) has handled. A row is
-- written in the same transaction as the state change the event caused, so
-- a redelivered event finds its row and changes nothing.
CREATE TABLE processed_events (
    consumer     TEXT   NOT NULL,
    event_id     TEXT   NOT NULL,
    processed_at BIGINT NOT NULL, -- Unix microseconds
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);
