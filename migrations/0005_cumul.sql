-- +goose Up
-- Cumul rSa + seasonal work (fiche 4.4): the scheme of each département (its window, the
-- fiche and the budget line whose yearly amount is the envelope of the allocations), the
-- dated national rSa parameters the allocation engine reads, the agreements (a seasonal or
-- fixed-term contract in agriculture or the agri-food industry) and their monthly allocations.
-- Money is NUMERIC(14,2); multipliers and rates are exact NUMERICs, never floats.

CREATE TABLE cumul_schemes (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement       text        NOT NULL,
    action_code       text        NOT NULL,  -- the fiche action the allocations are charged to, "4.4"
    budget_line_label text        NOT NULL,  -- the budget line of that fiche, each year, that is the envelope
    starts_on         date        NOT NULL,  -- the first day an agreement may cover
    ends_on           date        NOT NULL,  -- the last day an agreement may cover
    version           integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cumul_schemes_departement_unique UNIQUE (departement),
    CONSTRAINT cumul_schemes_window CHECK (ends_on >= starts_on)
);

-- The national rSa parameters, one row per revaluation (valid from that day until the next):
-- the montant forfaitaire for one person, and what each person beyond the largest household
-- size of rsa_household_multipliers adds to the multiplier. National reference data: no
-- département (replicated to every node under Citus, like a reference table).
CREATE TABLE rsa_parameters (
    valid_from               date          PRIMARY KEY,
    one_person_amount        numeric(14,2) NOT NULL CHECK (one_person_amount > 0),
    further_person_increment numeric(8,4)  NOT NULL CHECK (further_person_increment >= 0)
);

-- The multiplier of the montant forfaitaire by household size (1 → 1, 2 → 1.5…).
CREATE TABLE rsa_household_multipliers (
    valid_from     date         NOT NULL REFERENCES rsa_parameters (valid_from) ON DELETE CASCADE,
    household_size integer      NOT NULL CHECK (household_size >= 1),
    multiplier     numeric(8,4) NOT NULL CHECK (multiplier >= 1),
    PRIMARY KEY (valid_from, household_size)
);

-- The forfait logement: rate × the montant forfaitaire of household_size persons, deducted
-- when the household has a housing aid; the largest size listed applies to larger households.
CREATE TABLE rsa_housing_rates (
    valid_from     date         NOT NULL REFERENCES rsa_parameters (valid_from) ON DELETE CASCADE,
    household_size integer      NOT NULL CHECK (household_size >= 1),
    rate           numeric(8,5) NOT NULL CHECK (rate >= 0 AND rate < 1),
    PRIMARY KEY (valid_from, household_size)
);

CREATE TABLE cumul_agreements (
    id                              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement                     text         NOT NULL,
    beneficiary_id                  bigint       NOT NULL REFERENCES beneficiaries (id),
    employer                        text         NOT NULL,
    siret                           text         NOT NULL CHECK (siret ~ '^[0-9]{14}$'),
    sector                          text         NOT NULL CHECK (sector IN ('agriculture', 'agrifood')),
    contract_type                   text         NOT NULL CHECK (contract_type IN ('seasonal', 'fixed_term')),
    starts_on                       date         NOT NULL,
    ends_on                         date         NOT NULL,
    hours                           numeric(5,2) NOT NULL CHECK (hours > 0), -- working hours per week
    unemployment_rights_reopened_on date,        -- no allocation for a month starting after it
    version                         integer      NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at                      timestamptz  NOT NULL DEFAULT now(),
    updated_at                      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT cumul_agreements_dates CHECK (ends_on >= starts_on),
    CONSTRAINT cumul_agreements_reopened CHECK (unemployment_rights_reopened_on >= starts_on)
);
CREATE INDEX cumul_agreements_beneficiary_idx ON cumul_agreements (beneficiary_id, starts_on);
CREATE INDEX cumul_agreements_period_idx ON cumul_agreements (departement, starts_on, ends_on);

-- One allocation per agreement and month: what the département pays because the wages are
-- neutralised, amount = max(0, min(wages, rsa_without_wages − other_allocated)), where
-- other_allocated is what the person's other agreements were already allocated for the month.
-- When the engine computed rsa_without_wages, the parameters it used are kept (else NULL).
CREATE TABLE cumul_allocations (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement           text          NOT NULL,
    agreement_id          bigint        NOT NULL REFERENCES cumul_agreements (id),
    budget_line_id        bigint        NOT NULL REFERENCES budget_lines (id), -- the envelope charged
    month                 date          NOT NULL CHECK (extract(day FROM month) = 1),
    wages                 numeric(14,2) NOT NULL CHECK (wages >= 0),
    rsa_without_wages     numeric(14,2) NOT NULL CHECK (rsa_without_wages >= 0),
    other_allocated       numeric(14,2) NOT NULL DEFAULT 0 CHECK (other_allocated >= 0),
    amount                numeric(14,2) NOT NULL CHECK (amount >= 0),
    parameters_valid_from date          REFERENCES rsa_parameters (valid_from),
    household_size        integer       CHECK (household_size >= 1),
    housing_aid           boolean,
    other_resources       numeric(14,2) CHECK (other_resources >= 0),
    one_person_amount     numeric(14,2),
    multiplier            numeric(8,4),
    household_amount      numeric(14,2),
    housing_rate          numeric(8,5),
    housing_deduction     numeric(14,2),
    created_at            timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT cumul_allocations_month_unique UNIQUE (agreement_id, month),
    CONSTRAINT cumul_allocations_amount CHECK (amount = greatest(0, least(wages, rsa_without_wages - other_allocated))),
    CONSTRAINT cumul_allocations_parameters CHECK (
        (parameters_valid_from IS NULL) = (household_size IS NULL)
        AND (parameters_valid_from IS NULL) = (housing_aid IS NULL)
        AND (parameters_valid_from IS NULL) = (other_resources IS NULL)
        AND (parameters_valid_from IS NULL) = (one_person_amount IS NULL)
        AND (parameters_valid_from IS NULL) = (multiplier IS NULL)
        AND (parameters_valid_from IS NULL) = (household_amount IS NULL)
        AND (parameters_valid_from IS NULL) = (housing_deduction IS NULL))
);
CREATE INDEX cumul_allocations_line_idx ON cumul_allocations (budget_line_id);
CREATE INDEX cumul_allocations_month_idx ON cumul_allocations (departement, month);

-- +goose Down
DROP TABLE cumul_allocations;
DROP TABLE cumul_agreements;
DROP TABLE rsa_housing_rates;
DROP TABLE rsa_household_multipliers;
DROP TABLE rsa_parameters;
DROP TABLE cumul_schemes;
