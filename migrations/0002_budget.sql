-- +goose Up
-- The contracted budget: the CALPAE convention, its years and amendments, the Chorus funding
-- lines, the fiches actions with their Annexe 3 figures and their budget lines, and the
-- indicator definitions with their yearly targets. Money is NUMERIC(14,2), never negative.

CREATE TABLE conventions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement  text        NOT NULL,
    name         text        NOT NULL,
    period_start integer     NOT NULL,
    period_end   integer     NOT NULL,
    signed_on    date        NOT NULL,
    CONSTRAINT conventions_period_unique UNIQUE (departement, period_start),
    CONSTRAINT conventions_period_order CHECK (period_end >= period_start)
);

CREATE TABLE convention_years (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement         text          NOT NULL,
    convention_id       bigint        NOT NULL REFERENCES conventions (id),
    year                integer       NOT NULL,
    state_support       numeric(14,2) NOT NULL CHECK (state_support >= 0),
    departement_support numeric(14,2) CHECK (departement_support >= 0),
    CONSTRAINT convention_years_unique UNIQUE (departement, year)
);

CREATE TABLE amendments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement   text          NOT NULL,
    convention_id bigint        NOT NULL REFERENCES conventions (id),
    year          integer       NOT NULL,
    number        integer       NOT NULL CHECK (number > 0),
    signed_on     date          NOT NULL,
    amount        numeric(14,2),
    CONSTRAINT amendments_number_unique UNIQUE (convention_id, number),
    CONSTRAINT amendments_year_fk FOREIGN KEY (departement, year) REFERENCES convention_years (departement, year)
);

CREATE TABLE funding_lines (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement text          NOT NULL,
    year        integer       NOT NULL,
    chorus      text          NOT NULL,
    label       text          NOT NULL,
    theme       text          NOT NULL,
    prenotified numeric(14,2) NOT NULL DEFAULT 0 CHECK (prenotified >= 0),
    carryover   numeric(14,2) NOT NULL DEFAULT 0 CHECK (carryover >= 0),
    position    integer       NOT NULL DEFAULT 0,
    version     integer       NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at  timestamptz   NOT NULL DEFAULT now(),
    updated_at  timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT funding_lines_chorus_unique UNIQUE (departement, year, chorus),
    CONSTRAINT funding_lines_year_fk FOREIGN KEY (departement, year) REFERENCES convention_years (departement, year)
);

CREATE TABLE actions (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement         text          NOT NULL,
    year                integer       NOT NULL,
    code                text          NOT NULL,
    title               text          NOT NULL,
    category            text          NOT NULL CHECK (category IN ('socle', 'cil')),
    funding_line_id     bigint        NOT NULL REFERENCES funding_lines (id),
    budget              numeric(14,2) NOT NULL DEFAULT 0 CHECK (budget >= 0),
    state_share         numeric(14,2) NOT NULL DEFAULT 0 CHECK (state_share >= 0),
    departement_share   numeric(14,2) NOT NULL DEFAULT 0 CHECK (departement_share >= 0),
    valuation           numeric(14,2) NOT NULL DEFAULT 0 CHECK (valuation >= 0),
    carryover           numeric(14,2) NOT NULL DEFAULT 0 CHECK (carryover >= 0),
    other_funders       numeric(14,2) NOT NULL DEFAULT 0 CHECK (other_funders >= 0),
    -- The totals row of the fiche's own table (chapter III), as printed; NULL when it has none.
    sheet_amount        numeric(14,2) CHECK (sheet_amount >= 0),
    sheet_state         numeric(14,2) CHECK (sheet_state >= 0),
    sheet_departement   numeric(14,2) CHECK (sheet_departement >= 0),
    sheet_other         numeric(14,2) CHECK (sheet_other >= 0),
    position            integer       NOT NULL DEFAULT 0,
    version             integer       NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at          timestamptz   NOT NULL DEFAULT now(),
    updated_at          timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT actions_code_unique UNIQUE (departement, year, code),
    CONSTRAINT actions_year_fk FOREIGN KEY (departement, year) REFERENCES convention_years (departement, year)
);
CREATE INDEX actions_funding_line_idx ON actions (funding_line_id);

CREATE TABLE budget_lines (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement       text          NOT NULL,
    action_id         bigint        NOT NULL REFERENCES actions (id),
    label             text          NOT NULL,
    amount            numeric(14,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    state_share       numeric(14,2) NOT NULL DEFAULT 0 CHECK (state_share >= 0),
    departement_share numeric(14,2) NOT NULL DEFAULT 0 CHECK (departement_share >= 0),
    other_share       numeric(14,2) NOT NULL DEFAULT 0 CHECK (other_share >= 0),
    position          integer       NOT NULL DEFAULT 0,
    version           integer       NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX budget_lines_action_idx ON budget_lines (action_id, position, id);

CREATE TABLE indicators (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement text        NOT NULL,
    code        text        NOT NULL,
    action_code text        NOT NULL,
    scope       text        NOT NULL CHECK (scope IN ('national', 'departmental')),
    label       text        NOT NULL,
    unit        text        NOT NULL CHECK (unit IN ('count', 'days', 'rate', 'amount')),
    method      text        NOT NULL CHECK (method IN ('computed', 'declared')),
    params      jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(params) = 'object'),
    position    integer     NOT NULL DEFAULT 0,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT indicators_code_unique UNIQUE (departement, code)
);
CREATE INDEX indicators_action_idx ON indicators (departement, action_code, position);

CREATE TABLE indicator_targets (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement  text          NOT NULL,
    indicator_id bigint        NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    year         integer       NOT NULL,
    value        numeric(18,4) NOT NULL,
    comparator   text          NOT NULL CHECK (comparator IN ('eq', 'lt', 'lte', 'gt', 'gte')),
    note         text          NOT NULL DEFAULT '',
    CONSTRAINT indicator_targets_year_unique UNIQUE (indicator_id, year)
);

-- +goose Down
DROP TABLE indicator_targets;
DROP TABLE indicators;
DROP TABLE budget_lines;
DROP TABLE actions;
DROP TABLE funding_lines;
DROP TABLE amendments;
DROP TABLE convention_years;
DROP TABLE conventions;
