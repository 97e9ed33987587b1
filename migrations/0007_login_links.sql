-- +goose Up
-- Single-use login links: the id (jti) of every link used, until it would have expired.
CREATE TABLE login_links_used (
    jti         text        PRIMARY KEY,
    departement text        NOT NULL,
    subject     text        NOT NULL,
    used_at     timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX login_links_used_expiry_idx ON login_links_used (expires_at);

-- +goose Down
DROP TABLE login_links_used;
