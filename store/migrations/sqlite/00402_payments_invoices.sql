-- +goose Up
-- Invoices of package api/payments: one per seller per paid checkout,
-- numbered 1, 2, 3 ... per seller without gaps: the number is taken from
-- pay_invoice_counters in the same transaction that inserts the invoice,
-- so a failed insert gives its number back. tax_code names a row of the
-- module's taxes.json.
ALTER TABLE pay_connected_accounts ADD COLUMN tax_code TEXT NOT NULL DEFAULT 'none';

CREATE TABLE pay_invoice_counters (
    seller_id   TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

CREATE TABLE pay_invoices (
    id          TEXT PRIMARY KEY,
    seller_id   TEXT NOT NULL,
    number      BIGINT NOT NULL,
    checkout_id TEXT NOT NULL REFERENCES pay_checkouts (id),
    currency    TEXT NOT NULL,
    subtotal    BIGINT NOT NULL,
    tax         BIGINT NOT NULL,
    total       BIGINT NOT NULL,
    tax_code    TEXT NOT NULL,
    lines       TEXT NOT NULL,
    buyer_email TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (seller_id, number),
    UNIQUE (checkout_id, seller_id)
);

-- +goose Down
DROP TABLE pay_invoices;
DROP TABLE pay_invoice_counters;
ALTER TABLE pay_connected_accounts DROP COLUMN tax_code;
