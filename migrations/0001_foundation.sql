-- +goose Up
-- Territories: the social-action territories (CMS) agents are scoped to.
CREATE TABLE territories (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement text        NOT NULL,
    code        text        NOT NULL,
    name        text        NOT NULL,
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT territories_code_unique UNIQUE (departement, code),
    CONSTRAINT territories_version_positive CHECK (version > 0)
);

-- Audit: append-only trail of every write and every read of a nominative record.
CREATE TABLE audit_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement text        NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    role        text        NOT NULL,
    action      text        NOT NULL,
    resource    text        NOT NULL,
    resource_id text        NOT NULL,
    request_id  text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_resource_idx ON audit_events (departement, resource, resource_id, occurred_at);
CREATE INDEX audit_events_time_idx ON audit_events (departement, occurred_at);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE territories;
