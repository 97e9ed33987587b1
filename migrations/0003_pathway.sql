-- +goose Up
-- The orientation pathway: organisations and referents, beneficiaries (BrSa), orientation
-- platforms (sessions, convocations, catch-ups, formal notices) and orientation decisions.

CREATE TABLE organisations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement    text        NOT NULL,
    name           text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('pole_emploi', 'departement', 'ccas', 'association', 'plie', 'mission_locale', 'other')),
    territory_code text,
    version        integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisations_name_unique UNIQUE (departement, name),
    CONSTRAINT organisations_territory_fk FOREIGN KEY (departement, territory_code) REFERENCES territories (departement, code)
);

CREATE TABLE referents (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement     text        NOT NULL,
    organisation_id bigint      NOT NULL REFERENCES organisations (id),
    last_name       text        NOT NULL,
    first_name      text        NOT NULL,
    email           text,
    phone           text,
    active          boolean     NOT NULL DEFAULT true,
    version         integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referents_organisation_idx ON referents (organisation_id);

CREATE TABLE beneficiaries (
    id                           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement                  text        NOT NULL,
    last_name                    text        NOT NULL,
    first_name                   text        NOT NULL,
    birth_date                   date        NOT NULL,
    payer                        text        NOT NULL CHECK (payer IN ('caf', 'msa')),
    allocataire_number           text        NOT NULL,
    nir_ciphertext               bytea,      -- AES-256-GCM under the application data key
    nir_hash                     bytea,      -- HMAC-SHA256 under a derived key, for exact lookup
    territory_code               text        NOT NULL,
    commune                      text        NOT NULL DEFAULT '',
    household_size               integer     NOT NULL DEFAULT 1 CHECK (household_size BETWEEN 1 AND 20),
    rights_opened_on             date        NOT NULL,
    subject_to_rights_and_duties boolean     NOT NULL DEFAULT true,
    phone                        text,
    email                        text,
    independent_worker           boolean     NOT NULL DEFAULT false,
    leaving_child_welfare        boolean     NOT NULL DEFAULT false,
    version                      integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT beneficiaries_allocataire_unique UNIQUE (departement, payer, allocataire_number),
    CONSTRAINT beneficiaries_nir_unique UNIQUE (departement, nir_hash),
    CONSTRAINT beneficiaries_nir_pair CHECK ((nir_ciphertext IS NULL) = (nir_hash IS NULL)),
    CONSTRAINT beneficiaries_territory_fk FOREIGN KEY (departement, territory_code) REFERENCES territories (departement, code)
);
CREATE INDEX beneficiaries_territory_idx ON beneficiaries (departement, territory_code, id);
CREATE INDEX beneficiaries_rights_idx ON beneficiaries (departement, rights_opened_on);

CREATE TABLE orientation_sessions (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement             text        NOT NULL,
    territory_code          text        NOT NULL,
    site_organisation_id    bigint      NOT NULL REFERENCES organisations (id),
    starts_at               timestamptz NOT NULL,
    capacity                integer     NOT NULL CHECK (capacity > 0),
    employment_professional text        NOT NULL,
    social_professional     text        NOT NULL,
    version                 integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orientation_sessions_territory_fk FOREIGN KEY (departement, territory_code) REFERENCES territories (departement, code)
);
CREATE INDEX orientation_sessions_territory_idx ON orientation_sessions (departement, territory_code, starts_at);
CREATE INDEX orientation_sessions_site_idx ON orientation_sessions (site_organisation_id);

CREATE TABLE convocations (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement         text        NOT NULL,
    session_id          bigint      NOT NULL REFERENCES orientation_sessions (id),
    beneficiary_id      bigint      NOT NULL REFERENCES beneficiaries (id),
    sent_on             date        NOT NULL,
    attendance          text        CHECK (attendance IN ('present', 'excused', 'no_show')),
    catch_up_on         date,       -- the catch-up appointment offered after a no-show
    catch_up_attended   boolean,    -- NULL until known
    version             integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT convocations_once_per_session UNIQUE (session_id, beneficiary_id)
);
CREATE INDEX convocations_beneficiary_idx ON convocations (beneficiary_id);

CREATE TABLE formal_notices (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement       text        NOT NULL,
    convocation_id    bigint      NOT NULL REFERENCES convocations (id),
    beneficiary_id    bigint      NOT NULL REFERENCES beneficiaries (id),
    issued_on         date        NOT NULL,
    response_deadline date        NOT NULL,
    outcome           text        CHECK (outcome IN ('answered', 'unanswered', 'sanction_proposed')),
    version           integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT formal_notices_one_per_convocation UNIQUE (convocation_id),
    CONSTRAINT formal_notices_deadline_after_issue CHECK (response_deadline >= issued_on)
);
CREATE INDEX formal_notices_beneficiary_idx ON formal_notices (beneficiary_id);

CREATE TABLE orientations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    departement     text        NOT NULL,
    beneficiary_id  bigint      NOT NULL REFERENCES beneficiaries (id),
    route           text        NOT NULL CHECK (route IN ('professionnelle', 'socio_professionnelle', 'sociale')),
    organisation_id bigint      NOT NULL REFERENCES organisations (id),
    referent_id     bigint      REFERENCES referents (id),
    decided_on      date        NOT NULL,
    notified_on     date,
    origin          text        NOT NULL CHECK (origin IN ('platform', 'individual', 'administrative')),
    convocation_id  bigint      REFERENCES convocations (id),
    current         boolean     NOT NULL DEFAULT true, -- false once a later decision supersedes it
    superseded_on   date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orientations_notified_after_decision CHECK (notified_on IS NULL OR notified_on >= decided_on)
);
CREATE UNIQUE INDEX orientations_one_current ON orientations (beneficiary_id) WHERE current;
CREATE INDEX orientations_beneficiary_idx ON orientations (beneficiary_id, decided_on);
CREATE INDEX orientations_organisation_idx ON orientations (organisation_id);
CREATE INDEX orientations_convocation_idx ON orientations (convocation_id);

-- +goose Down
DROP TABLE orientations;
DROP TABLE formal_notices;
DROP TABLE convocations;
DROP TABLE orientation_sessions;
DROP TABLE beneficiaries;
DROP TABLE referents;
DROP TABLE organisations;
