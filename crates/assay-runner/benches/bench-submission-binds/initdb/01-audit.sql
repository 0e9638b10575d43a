-- Run once, on the first start of an empty data directory.
CREATE TABLE IF NOT EXISTS audit (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    message text NOT NULL
);
INSERT INTO audit (message) VALUES ('initialised by the benchmark submission');
