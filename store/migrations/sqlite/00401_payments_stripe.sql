-- +goose Up
-- Stripe Connect state of package api/payments (docs/payments.md). Money
-- itself is in the ledger (00400); these tables mirror Stripe objects and
-- hold the module's work queues. state_at is the Stripe "created" time (unix
-- seconds) of the event that last set a row's state, so older events
-- arriving late do not overwrite newer state.
CREATE TABLE pay_connected_accounts (
    user_id           TEXT PRIMARY KEY,
    stripe_account_id TEXT NOT NULL UNIQUE,
    charges_enabled   BOOLEAN NOT NULL DEFAULT FALSE,
    payouts_enabled   BOOLEAN NOT NULL DEFAULT FALSE,
    details_submitted BOOLEAN NOT NULL DEFAULT FALSE,
    transfers_active  BOOLEAN NOT NULL DEFAULT FALSE,
    currently_due     TEXT NOT NULL DEFAULT '',
    disabled_reason   TEXT NOT NULL DEFAULT '',
    country           TEXT NOT NULL DEFAULT '',
    state_at          BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

CREATE TABLE pay_checkouts (
    id                TEXT PRIMARY KEY,
    created_by        TEXT NOT NULL,
    mode              TEXT NOT NULL CHECK (mode IN ('destination', 'split')),
    amount            BIGINT NOT NULL CHECK (amount > 0),
    currency          TEXT NOT NULL,
    fee               BIGINT NOT NULL CHECK (fee >= 0),
    description       TEXT NOT NULL,
    buyer_email       TEXT NOT NULL DEFAULT '',
    payment_intent_id TEXT UNIQUE,
    charge_id         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    refunded          BIGINT NOT NULL DEFAULT 0,
    state_at          BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX pay_checkouts_creator ON pay_checkouts (created_by, created_at);

CREATE TABLE pay_checkout_parties (
    checkout_id TEXT NOT NULL REFERENCES pay_checkouts (id),
    seq         INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    bps         BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    transfer_id TEXT NOT NULL DEFAULT '',
    reversed    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (checkout_id, seq)
);
CREATE INDEX pay_checkout_parties_user ON pay_checkout_parties (user_id);

CREATE TABLE pay_refunds (
    id          TEXT PRIMARY KEY,
    checkout_id TEXT NOT NULL REFERENCES pay_checkouts (id),
    amount      BIGINT NOT NULL,
    status      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX pay_refunds_checkout ON pay_refunds (checkout_id);

CREATE TABLE pay_disputes (
    id              TEXT PRIMARY KEY,
    checkout_id     TEXT NOT NULL REFERENCES pay_checkouts (id),
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,
    evidence_due_by TIMESTAMP,
    state_at        BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX pay_disputes_checkout ON pay_disputes (checkout_id);

CREATE TABLE pay_payouts (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    stripe_payout_id TEXT NOT NULL DEFAULT '',
    amount           BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    method           TEXT NOT NULL CHECK (method IN ('standard', 'instant')),
    status           TEXT NOT NULL,
    state_at         BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX pay_payouts_user ON pay_payouts (user_id, created_at);
CREATE INDEX pay_payouts_stripe ON pay_payouts (stripe_payout_id);

-- Stripe events as received (raw body), processed from here with retries.
CREATE TABLE pay_webhook_events (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    account         TEXT NOT NULL DEFAULT '',
    created         BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'ignored', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    received_at     TIMESTAMP NOT NULL,
    processed_at    TIMESTAMP
);
CREATE INDEX pay_webhook_events_due ON pay_webhook_events (status, next_attempt_at);

-- Our API's Idempotency-Key records: the first response per user and key.
CREATE TABLE pay_idempotency (
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Every Stripe call that moves money is recorded here before it is made
-- and marked done in the transaction that posts its ledger entry; one left
-- pending means Stripe and the ledger may disagree (reconciliation).
CREATE TABLE pay_operations (
    stripe_key TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    ref        TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    stripe_id  TEXT NOT NULL DEFAULT '',
    error      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX pay_operations_pending ON pay_operations (status, created_at);

-- Drift found by the reconciliation job, one row per finding.
CREATE TABLE pay_reconciliation (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    stripe_ref  TEXT NOT NULL,
    currency    TEXT NOT NULL DEFAULT '',
    expected    BIGINT NOT NULL DEFAULT 0,
    actual      BIGINT NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    UNIQUE (kind, stripe_ref)
);

-- +goose Down
DROP TABLE pay_reconciliation;
DROP TABLE pay_operations;
DROP TABLE pay_idempotency;
DROP TABLE pay_webhook_events;
DROP TABLE pay_payouts;
DROP TABLE pay_disputes;
DROP TABLE pay_refunds;
DROP TABLE pay_checkout_parties;
DROP TABLE pay_checkouts;
DROP TABLE pay_connected_accounts;
