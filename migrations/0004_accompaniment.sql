-- +goose Up
-- Accompaniment: the programme catalogue (tied to fiches actions, with unit costs, duration
-- rules and capacity), enrolments with their first appointment, renewals and exit, costed
-- events (diagnostic interviews, evaluations…), and CER / PPAE contracts.

CREATE TABLE programmes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement  text        NOT NULL,
    code         text        NOT NULL,
    name         text        NOT NULL,
    action_code  text        NOT NULL,
    max_months   integer     CHECK (max_months > 0),   -- longest enrolment period, before renewals
    max_renewals integer     NOT NULL DEFAULT 0 CHECK (max_renewals >= 0),
    capacity     integer     CHECK (capacity > 0),     -- open enrolments at once
    version      integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT programmes_code_unique UNIQUE (departement, code)
);
CREATE INDEX programmes_action_idx ON programmes (departement, action_code);

CREATE TABLE programme_organisations (
    programme_id    bigint NOT NULL REFERENCES programmes (id) ON DELETE CASCADE,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (programme_id, organisation_id)
);

CREATE TABLE programme_unit_costs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme_id bigint        NOT NULL REFERENCES programmes (id) ON DELETE CASCADE,
    basis        text          NOT NULL CHECK (basis IN ('per_event', 'per_month', 'per_enrolment')),
    event        text          NOT NULL DEFAULT '', -- the costed event for per_event, '' otherwise
    amount       numeric(14,2) NOT NULL CHECK (amount >= 0),
    CONSTRAINT programme_unit_costs_event CHECK ((basis = 'per_event') = (event <> '')),
    CONSTRAINT programme_unit_costs_unique UNIQUE (programme_id, basis, event)
);

CREATE TABLE enrolments (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement          text        NOT NULL,
    beneficiary_id       bigint      NOT NULL REFERENCES beneficiaries (id),
    programme_id         bigint      NOT NULL REFERENCES programmes (id),
    organisation_id      bigint      NOT NULL REFERENCES organisations (id),
    referent_id          bigint      REFERENCES referents (id),
    orientation_id       bigint      REFERENCES orientations (id),
    started_on           date        NOT NULL,
    first_appointment_on date,
    renewals             integer     NOT NULL DEFAULT 0 CHECK (renewals >= 0),
    ended_on             date,
    exit_reason          text        CHECK (exit_reason IN ('employment_permanent', 'employment_fixed_term', 'civic_service',
                                       'training', 'business_created', 'gave_up', 'reoriented', 'left_rsa', 'moved', 'other')),
    version              integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT enrolments_appointment_after_start CHECK (first_appointment_on IS NULL OR first_appointment_on >= started_on),
    CONSTRAINT enrolments_end_after_start CHECK (ended_on IS NULL OR ended_on >= started_on),
    CONSTRAINT enrolments_exit_reason CHECK ((ended_on IS NULL) = (exit_reason IS NULL))
);
CREATE UNIQUE INDEX enrolments_one_open ON enrolments (beneficiary_id, programme_id) WHERE ended_on IS NULL;
CREATE INDEX enrolments_programme_idx ON enrolments (programme_id, started_on);
CREATE INDEX enrolments_beneficiary_idx ON enrolments (beneficiary_id);
CREATE INDEX enrolments_organisation_idx ON enrolments (organisation_id);

CREATE TABLE enrolment_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement  text        NOT NULL,
    enrolment_id bigint      NOT NULL REFERENCES enrolments (id),
    event        text        NOT NULL,
    occurred_on  date        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrolment_events_enrolment_idx ON enrolment_events (enrolment_id, occurred_on);

CREATE TABLE contracts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement    text        NOT NULL,
    enrolment_id   bigint      NOT NULL REFERENCES enrolments (id),
    beneficiary_id bigint      NOT NULL REFERENCES beneficiaries (id),
    type           text        NOT NULL CHECK (type IN ('cer', 'ppae', 'cer_ti')),
    signed_on      date        NOT NULL,
    starts_on      date        NOT NULL,
    ends_on        date        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contracts_dates CHECK (ends_on >= starts_on)
);
CREATE INDEX contracts_enrolment_idx ON contracts (enrolment_id);
CREATE INDEX contracts_beneficiary_idx ON contracts (beneficiary_id, signed_on);

-- +goose Down
DROP TABLE contracts;
DROP TABLE enrolment_events;
DROP TABLE enrolments;
DROP TABLE programme_unit_costs;
DROP TABLE programme_organisations;
DROP TABLE programmes;
