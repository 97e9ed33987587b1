package imports

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
)

// auditResource is the resource name of beneficiaries in the audit trail, as the
// beneficiaries service writes it.
const auditResource = "beneficiary"

// tempTable holds the valid rows of one import, for the length of its transaction.
const tempTable = "import_beneficiaries"

// copyColumns are the columns of tempTable, in the order of batch.copyRow.
var copyColumns = []string{"line", "payer", "allocataire_number", "last_name", "first_name", "birth_date",
	"nir_ciphertext", "nir_hash", "territory_code", "commune", "household_size", "rights_opened_on",
	"subject_to_rights_and_duties", "phone", "email", "independent_worker", "leaving_child_welfare"}

const createTempSQL = `CREATE TEMPORARY TABLE ` + tempTable + ` (
	line integer NOT NULL, payer text NOT NULL, allocataire_number text NOT NULL, last_name text NOT NULL,
	first_name text NOT NULL, birth_date date NOT NULL, nir_ciphertext bytea, nir_hash bytea,
	territory_code text NOT NULL, commune text NOT NULL, household_size integer NOT NULL,
	rights_opened_on date NOT NULL, subject_to_rights_and_duties boolean NOT NULL, phone text, email text,
	independent_worker boolean NOT NULL, leaving_child_welfare boolean NOT NULL
) ON COMMIT DROP`

// changeable are the columns a re-import changes when the file has them; the NIR changes
// too, when the row gives one. The birth date and the key (payer, allocataire number) stay.
var changeable = []int{colLastName, colFirstName, colCommune, colHouseholdSize, colTerritoryCode, colRightsOpenedOn,
	colSubjectToRightsAndDuties, colPhone, colEmail, colIndependentWorker, colLeavingChildWelfare}

// databaseChecks reject, from tempTable, the rows that contradict a recorded beneficiary;
// each statement returns the line and the recorded beneficiary's id.
var databaseChecks = []struct{ field, reason, sql string }{
	{"nir", "beneficiary %d, another allocataire, already has this NIR", `
		DELETE FROM ` + tempTable + ` s USING beneficiaries b
		WHERE b.departement = $1 AND b.nir_hash = s.nir_hash
		  AND (b.payer, b.allocataire_number) <> (s.payer, s.allocataire_number)
		RETURNING s.line, b.id`},
	{"birth_date", "differs from the birth date recorded for beneficiary %d, which an import does not change", `
		DELETE FROM ` + tempTable + ` s USING beneficiaries b
		WHERE b.departement = $1 AND b.payer = s.payer AND b.allocataire_number = s.allocataire_number
		  AND b.birth_date <> s.birth_date
		RETURNING s.line, b.id`},
}

// stored is what the write did: rows created, updated, and rejected against the database.
type stored struct {
	created, updated int
	rejections       []Rejection
}

// store writes rows in one transaction on one pgx connection: COPY into a temporary table,
// the database checks, then one upsert that also writes the audit rows.
func (s *Service) store(ctx context.Context, p auth.Principal, h header, rows [][]any) (stored, error) {
	if len(rows) == 0 {
		return stored{}, nil
	}
	var st stored
	err := services.WithPgxTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		st, err = write(ctx, tx, p, h, rows)
		return err
	})
	if err := models.Translate(err); errors.Is(err, models.ErrDuplicate) || errors.Is(err, models.ErrForeignKey) {
		return stored{}, fmt.Errorf("import beneficiaries: a beneficiary or territory changed during the import, import the file again: %w",
			services.ErrConflict)
	}
	return st, err
}

func write(ctx context.Context, tx pgx.Tx, p auth.Principal, h header, rows [][]any) (stored, error) {
	// One import at a time per département: two would race on the same people.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "parcours import beneficiaries "+p.Departement); err != nil {
		return stored{}, fmt.Errorf("import beneficiaries: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, createTempSQL); err != nil {
		return stored{}, fmt.Errorf("import beneficiaries: temporary table: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{tempTable}, copyColumns, pgx.CopyFromRows(rows)); err != nil {
		return stored{}, fmt.Errorf("import beneficiaries: copy: %w", err)
	}
	if _, err := tx.Exec(ctx, `ANALYZE `+tempTable); err != nil {
		return stored{}, fmt.Errorf("import beneficiaries: analyze: %w", err)
	}
	var st stored
	for _, check := range databaseChecks {
		rejected, err := rejectAgainstDatabase(ctx, tx, p.Departement, check.field, check.reason, check.sql)
		if err != nil {
			return stored{}, err
		}
		st.rejections = append(st.rejections, rejected...)
	}
	err := tx.QueryRow(ctx, upsertSQL(h), p.Departement, p.Subject, string(p.Role), audit.RequestID(ctx),
		auditResource, audit.ActionCreate, audit.ActionUpdate).Scan(&st.created, &st.updated)
	if err != nil {
		return stored{}, fmt.Errorf("import beneficiaries: upsert: %w", err)
	}
	return st, nil
}

// rejectAgainstDatabase runs one of databaseChecks and reports the rows it removed.
func rejectAgainstDatabase(ctx context.Context, tx pgx.Tx, departement, field, reason, sql string) ([]Rejection, error) {
	rows, err := tx.Query(ctx, sql, departement)
	if err != nil {
		return nil, fmt.Errorf("import beneficiaries: check %s: %w", field, err)
	}
	var out []Rejection
	var line int
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&line, &id}, func() error {
		out = append(out, Rejection{Line: line, Field: field, Reason: fmt.Sprintf(reason, id)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import beneficiaries: check %s: %w", field, err)
	}
	return out, nil
}

// upsertSQL inserts the rows of tempTable, updates the changeable columns the file has where
// a value differs (bumping version and updated_at), and appends one audit row per created or
// updated beneficiary. It returns the counts of created and updated rows. Parameters: $1
// département, $2 actor, $3 role, $4 request id, $5 resource, $6 create action, $7 update action.
func upsertSQL(h header) string {
	targets := strings.Join(copyColumns[1:], ", ")
	var sets, olds, news []string
	for _, col := range changeable {
		if h.has(col) {
			name := columnNames[col]
			sets = append(sets, name+" = EXCLUDED."+name)
			olds = append(olds, "b."+name)
			news = append(news, "EXCLUDED."+name)
		}
	}
	return `WITH upserted AS (
		INSERT INTO beneficiaries AS b (departement, ` + targets + `)
		SELECT $1, ` + targets + ` FROM ` + tempTable + ` ORDER BY line
		ON CONFLICT (departement, payer, allocataire_number) DO UPDATE SET ` + strings.Join(sets, ", ") + `,
			nir_ciphertext = COALESCE(EXCLUDED.nir_ciphertext, b.nir_ciphertext),
			nir_hash = COALESCE(EXCLUDED.nir_hash, b.nir_hash),
			version = b.version + 1, updated_at = now()
		WHERE (` + strings.Join(olds, ", ") + `) IS DISTINCT FROM (` + strings.Join(news, ", ") + `)
		   OR (EXCLUDED.nir_hash IS NOT NULL AND EXCLUDED.nir_hash IS DISTINCT FROM b.nir_hash)
		RETURNING b.id, (b.xmax = 0) AS created
	), audited AS (
		INSERT INTO audit_events (departement, actor, role, action, resource, resource_id, request_id)
		SELECT $1, $2, $3, CASE WHEN created THEN $6 ELSE $7 END, $5, id::text, $4 FROM upserted
	)
	SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM upserted`
}
