-- The counters of the rate-limiting plugin's `cluster` policy, shared by every node on this database.
-- `key` is Kong's counter key (route, service, identifier, period start, period); rows past `expires_at`
-- (unix seconds) count as zero and are swept by later increments.
CREATE TABLE ratelimiting_metrics (
    key        TEXT   NOT NULL PRIMARY KEY,
    value      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ratelimiting_metrics_by_expiry ON ratelimiting_metrics (expires_at);
