-- +goose Up
-- The change feed (transactional outbox) partners follow, and the one path by which expired
-- audit events may leave the otherwise append-only audit trail.

-- One row per creation or change of a convocation, orientation, enrolment or contract,
-- written in the transaction that makes the change. organisation_id and territory_code are
-- what the feed is scoped by: the organisation a partner must be (the session's site for a
-- convocation, the organisation of an orientation or enrolment, the enrolment's for a
-- contract) and the territory an agent must hold (the session's for a convocation, the
-- beneficiary's otherwise). payload holds the entity's public fields, never a NIR. xid is the
-- writing transaction (64-bit, no wraparound): readers hand out an event only once every
-- transaction older than its own has ended, and order the feed by (xid, id).
CREATE TABLE outbox_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement     text        NOT NULL,
    entity_type     text        NOT NULL CHECK (entity_type IN ('convocation', 'orientation', 'enrolment', 'contract')),
    entity_id       bigint      NOT NULL,
    action          text        NOT NULL CHECK (action IN ('created', 'updated')),
    beneficiary_id  bigint      NOT NULL REFERENCES beneficiaries (id),
    organisation_id bigint      NOT NULL REFERENCES organisations (id),
    territory_code  text        NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    payload         jsonb       NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    xid             xid8        NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX outbox_events_feed_idx ON outbox_events (departement, xid, id);
CREATE INDEX outbox_events_organisation_idx ON outbox_events (departement, organisation_id, xid, id);
CREATE INDEX outbox_events_territory_idx ON outbox_events (departement, territory_code, xid, id);
CREATE INDEX outbox_events_beneficiary_idx ON outbox_events (beneficiary_id);

-- The audit trail stays append-only for everyone, its owner included: UPDATE and TRUNCATE are
-- always refused, and so is DELETE, except for the retention purge (`parcours purge`), which
-- declares itself in its transaction with
--     SELECT set_config('parcours.purge', 'audit_retention', true),
--            set_config('parcours.audit_retention', '<interval>', true);
-- and then may only remove rows older than that retention, and never one younger than a year
-- (the floor below), whatever retention it claims.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    retention interval;
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('parcours.purge', true) = 'audit_retention' THEN
        retention := greatest(nullif(current_setting('parcours.audit_retention', true), '')::interval, interval '1 year');
        IF OLD.occurred_at < now() - retention THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events: event % of % is within the retention of %', OLD.id, OLD.occurred_at, retention
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
DROP TABLE outbox_events;
