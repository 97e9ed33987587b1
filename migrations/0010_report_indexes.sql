-- +goose Up
-- Indexes for the spend and indicator reports of one département when the database holds
-- every département (DESIGN §5: a national deployment on one primary). Without them the
-- accompaniment indicators scanned every enrolment of France (their programmes are found by
-- fiche, across départements) and the new entrants read a heap page per beneficiary; see
-- docs/performance.md for the plans before and after.

-- The enrolments of a département by programme: the accompaniment indicators
-- (services/accompindicators) join the programmes of a fiche to the enrolments of the
-- caller's département, and the accruals those of its programmes.
CREATE INDEX enrolments_departement_idx ON enrolments (departement, programme_id, started_on);

-- The new entrants of a year (services/orientations, indicator 3.1) from the index alone:
-- the columns the query reads are included, so that it never visits the table.
DROP INDEX beneficiaries_rights_idx;
CREATE INDEX beneficiaries_rights_idx ON beneficiaries (departement, rights_opened_on)
    INCLUDE (subject_to_rights_and_duties, territory_code, id);

-- +goose Down
DROP INDEX beneficiaries_rights_idx;
CREATE INDEX beneficiaries_rights_idx ON beneficiaries (departement, rights_opened_on);
DROP INDEX enrolments_departement_idx;
