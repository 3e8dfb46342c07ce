-- +goose Up
-- audio_jobs is the queue of analysis and processing jobs (package
-- audio/jobs). A worker claims a job by taking a lease; a worker that
-- crashes stops renewing it, and once lease_until has passed another
-- worker may claim the job again (attempts counts claims, up to
-- max_attempts). Outputs are written as content-addressed blobs before a
-- job completes, so a crash never leaves a half-written asset behind.
-- Times are UTC.
CREATE TABLE audio_jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    input        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    stage        TEXT NOT NULL DEFAULT '',
    progress     DOUBLE PRECISION NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    worker       TEXT NOT NULL DEFAULT '',
    lease_until  TIMESTAMPTZ,
    error        TEXT NOT NULL DEFAULT '',
    result       TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX audio_jobs_claim ON audio_jobs (status, created_at);

-- +goose Down
DROP TABLE audio_jobs;
