-- +goose Up
-- The payments ledger (package api/payments, docs/payments.md): a
-- double-entry book in integer minor units. Accounts are created on first
-- use; an entry is a set of postings whose signed amounts (debit positive,
-- credit negative) sum to zero per currency, checked again at commit by a
-- deferred constraint trigger. Entries and postings are append-only (the
-- triggers refuse UPDATE and DELETE): corrections are reversing entries.
-- idempotency_key makes a posting replay-safe: a second post with the same
-- key returns the first entry.
CREATE TABLE pay_ledger_accounts (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    currency   TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('asset', 'liability', 'revenue', 'expense', 'equity')),
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (code, owner_id, currency)
);
CREATE INDEX pay_ledger_accounts_owner ON pay_ledger_accounts (owner_id);

CREATE TABLE pay_ledger_entries (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    content_hash    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    memo            TEXT NOT NULL,
    stripe_ref      TEXT NOT NULL DEFAULT '',
    reverses_id     TEXT REFERENCES pay_ledger_entries (id),
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX pay_ledger_entries_stripe ON pay_ledger_entries (stripe_ref);
CREATE UNIQUE INDEX pay_ledger_entries_reverses ON pay_ledger_entries (reverses_id);

CREATE TABLE pay_ledger_postings (
    entry_id   TEXT NOT NULL REFERENCES pay_ledger_entries (id),
    seq        INTEGER NOT NULL,
    account_id TEXT NOT NULL REFERENCES pay_ledger_accounts (id),
    currency   TEXT NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (entry_id, seq)
);
CREATE INDEX pay_ledger_postings_account ON pay_ledger_postings (account_id);

-- +goose StatementBegin
CREATE FUNCTION pay_ledger_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is immutable', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER pay_ledger_entries_immutable BEFORE UPDATE OR DELETE ON pay_ledger_entries
    FOR EACH ROW EXECUTE FUNCTION pay_ledger_immutable();
CREATE TRIGGER pay_ledger_postings_immutable BEFORE UPDATE OR DELETE ON pay_ledger_postings
    FOR EACH ROW EXECUTE FUNCTION pay_ledger_immutable();

-- +goose StatementBegin
CREATE FUNCTION pay_ledger_balanced() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pay_ledger_postings WHERE entry_id = NEW.entry_id
               GROUP BY currency HAVING SUM(amount) <> 0) THEN
        RAISE EXCEPTION 'ledger entry % does not balance', NEW.entry_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER pay_ledger_postings_balanced AFTER INSERT ON pay_ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pay_ledger_balanced();

-- +goose Down
DROP TABLE pay_ledger_postings;
DROP TABLE pay_ledger_entries;
DROP TABLE pay_ledger_accounts;
DROP FUNCTION pay_ledger_balanced();
DROP FUNCTION pay_ledger_immutable();
