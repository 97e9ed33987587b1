-- +goose Up
-- Partner API clients: the machine-to-machine clients of partner organisations (Pôle emploi),
-- which get short-lived partner tokens by OAuth2 client credentials (RFC 6749 §4.4). The secret
-- is kept only as a bcrypt hash. Failed authentications are counted per client: 10 within a
-- minute of the first lock the client for a minute (locked_until).
CREATE TABLE api_clients (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement       text        NOT NULL,
    client_id         text        NOT NULL,
    organisation_id   bigint      NOT NULL REFERENCES organisations (id),
    name              text        NOT NULL,
    -- The scopes granted, space-separated as in OAuth ("beneficiaries:read attendance:write").
    scopes            text        NOT NULL CHECK (scopes ~ '^[a-z_]+:[a-z_]+( [a-z_]+:[a-z_]+)*$'),
    active            boolean     NOT NULL DEFAULT true,
    secret_hash       text        NOT NULL,
    secret_rotated_at timestamptz NOT NULL,
    failed_attempts   integer     NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    failures_since    timestamptz,
    locked_until      timestamptz,
    created_by        text        NOT NULL,
    revoked_at        timestamptz,
    version           integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_clients_client_id_unique UNIQUE (client_id),
    CONSTRAINT api_clients_name_unique UNIQUE (departement, name),
    CONSTRAINT api_clients_revoked_inactive CHECK (active OR revoked_at IS NOT NULL)
);
CREATE INDEX api_clients_organisation_idx ON api_clients (organisation_id);

-- Idempotency keys: the first answer to a POST sent with an Idempotency-Key, per caller, kept
-- 24 hours. The row is written in the transaction of the request it answers, so the stored
-- answer and the write commit or roll back together.
CREATE TABLE idempotency_keys (
    departement  text        NOT NULL,
    subject      text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL DEFAULT 0,
    headers      jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(headers) = 'object'),
    body         bytea       NOT NULL DEFAULT ''::bytea,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (departement, subject, key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE api_clients;
