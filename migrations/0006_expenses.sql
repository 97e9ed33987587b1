-- +goose Up
-- The expense ledger (commitments and payments on the fiches actions, with their split across
-- funders) and the values declared for the indicators the document defines as declared.
-- Both are append-only: a correction of an expense is a reversing entry, a new declaration of
-- an indicator supersedes the earlier one of its period without erasing it.

-- +goose StatementBegin
CREATE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TABLE expenses (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement       text          NOT NULL,
    action_id         bigint        NOT NULL REFERENCES actions (id),     -- the fiche of the entry date's year
    budget_line_id    bigint        REFERENCES budget_lines (id),         -- a poste of that fiche, or none
    kind              text          NOT NULL CHECK (kind IN ('commitment', 'payment')),
    amount            numeric(14,2) NOT NULL CHECK (amount <> 0),         -- negative on a reversing entry only
    entry_date        date          NOT NULL,
    supplier          text          NOT NULL,
    reference         text          NOT NULL,
    funder            text          CHECK (funder IN ('state', 'departement', 'carryover', 'other')), -- NULL: split
    state_share       numeric(14,2) NOT NULL,
    departement_share numeric(14,2) NOT NULL,
    carryover_share   numeric(14,2) NOT NULL,
    other_share       numeric(14,2) NOT NULL,
    reverses_id       bigint        REFERENCES expenses (id),
    created_at        timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT expenses_shares_add_up CHECK (state_share + departement_share + carryover_share + other_share = amount),
    CONSTRAINT expenses_shares_sign CHECK (
        (amount > 0 AND least(state_share, departement_share, carryover_share, other_share) >= 0) OR
        (amount < 0 AND greatest(state_share, departement_share, carryover_share, other_share) <= 0)),
    CONSTRAINT expenses_reversal_negative CHECK ((reverses_id IS NULL) = (amount > 0)),
    CONSTRAINT expenses_reversed_once UNIQUE (reverses_id)
);
CREATE INDEX expenses_action_idx ON expenses (departement, action_id, entry_date);
CREATE INDEX expenses_line_idx ON expenses (budget_line_id) WHERE budget_line_id IS NOT NULL;

CREATE TRIGGER expenses_no_update_delete
    BEFORE UPDATE OR DELETE ON expenses
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER expenses_no_truncate
    BEFORE TRUNCATE ON expenses
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Declared values: per indicator, period (a year "2020" or a month "2020-06") and territory
-- (NULL for the whole département); the latest declaration of a period counts.
CREATE TABLE indicator_values (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement  text          NOT NULL,
    indicator_id bigint        NOT NULL REFERENCES indicators (id),
    period       text          NOT NULL CHECK (period ~ '^[0-9]{4}(-(0[1-9]|1[0-2]))?$'),
    territory_id bigint        REFERENCES territories (id),
    value        numeric(18,4) NOT NULL,
    source       text          NOT NULL,
    comment      text          NOT NULL DEFAULT '',
    declared_at  timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX indicator_values_latest_idx ON indicator_values (indicator_id, period, territory_id, id);

CREATE TRIGGER indicator_values_no_update_delete
    BEFORE UPDATE OR DELETE ON indicator_values
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER indicator_values_no_truncate
    BEFORE TRUNCATE ON indicator_values
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- +goose Down
DROP TABLE indicator_values;
DROP TABLE expenses;
DROP FUNCTION ledger_append_only();
