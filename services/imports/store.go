package imports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
)

// auditResource is the resource name of beneficiaries in the audit trail, as the
// beneficiaries service writes it.
const auditResource = "beneficiary"

// The import works with two temporary tables, dropped at commit: newTable holds one batch
// of new beneficiaries at a time, changesTable the rows that match a recorded beneficiary,
// applied at the end.
const (
	newTable     = "import_new"
	changesTable = "import_changes"
)

// copyColumns are the columns of newTable, in the order of checker.tuple; changesTable
// has them and id.
var copyColumns = []string{"payer", "allocataire_number", "last_name", "first_name", "birth_date",
	"nir_ciphertext", "nir_hash", "territory_code", "commune", "household_size", "rights_opened_on",
	"subject_to_rights_and_duties", "phone", "email", "independent_worker", "leaving_child_welfare"}

// prepareSQL creates the temporary tables.
var prepareSQL = []string{`CREATE TEMPORARY TABLE ` + newTable + ` (
	payer text NOT NULL, allocataire_number text NOT NULL, last_name text NOT NULL,
	first_name text NOT NULL, birth_date date NOT NULL, nir_ciphertext bytea, nir_hash bytea,
	territory_code text NOT NULL, commune text NOT NULL, household_size integer NOT NULL,
	rights_opened_on date NOT NULL, subject_to_rights_and_duties boolean NOT NULL, phone text, email text,
	independent_worker boolean NOT NULL, leaving_child_welfare boolean NOT NULL
) ON COMMIT DROP`,
	`CREATE TEMPORARY TABLE ` + changesTable + ` (LIKE ` + newTable + `, id bigint NOT NULL) ON COMMIT DROP`,
}

var (
	copyNewSQL     = `COPY ` + newTable + ` (` + strings.Join(copyColumns, ", ") + `) FROM STDIN (FORMAT binary)`
	copyChangesSQL = `COPY ` + changesTable + ` (` + strings.Join(copyColumns, ", ") + `, id) FROM STDIN (FORMAT binary)`
)

// changeable are the columns a re-import changes when the file has them; the NIR changes
// too, when the row gives one. The birth date and the key (payer, allocataire number) stay.
var changeable = []int{colLastName, colFirstName, colCommune, colHouseholdSize, colTerritoryCode, colRightsOpenedOn,
	colSubjectToRightsAndDuties, colPhone, colEmail, colIndependentWorker, colLeavingChildWelfare}

// stored is what the write did.
type stored struct {
	created, updated int
}

// store imports the file in one transaction on one pgx connection. Under the département's
// import lock, it reads what it needs of the recorded beneficiaries (see known), then
// starts the pipeline that reads and checks the file, and writes its batches while the next
// ones are being checked: the new beneficiaries with a COPY into newTable and one INSERT per
// batch, the rows that match a recorded beneficiary with a COPY into changesTable; at the
// end, one UPDATE of the beneficiaries that changed. The INSERTs and the UPDATE write their
// audit rows in the same statement. A malformed file is refused, and rolled back whatever
// was written before the fault was read.
func (s *Service) store(ctx context.Context, p auth.Principal, h header, start func(*known) *pipeline) (Report, error) {
	var rep Report
	err := services.WithPgxTx(ctx, s.db, func(tx pgx.Tx) error {
		db := statements{tx: tx, h: h, departement: p.Departement,
			args: []any{p.Departement, p.Subject, string(p.Role), audit.RequestID(ctx), auditResource}}
		k, err := db.prepare(ctx)
		if err != nil {
			return err
		}
		rows := start(k)
		defer rows.close()
		st, err := db.write(ctx, rows)
		if err != nil {
			return err
		}
		rep = rows.sink.report(st) // the sink is done: write took every batch
		return nil
	})
	if err := models.Translate(err); errors.Is(err, models.ErrDuplicate) || errors.Is(err, models.ErrForeignKey) {
		return Report{}, fmt.Errorf("import beneficiaries: a beneficiary or territory changed during the import, import the file again: %w",
			services.ErrConflict)
	}
	if err != nil {
		return Report{}, err
	}
	return rep, nil
}

// statements runs the statements of one import.
type statements struct {
	tx          pgx.Tx
	h           header
	departement string
	args        []any // $1 département, $2 actor, $3 role, $4 request id, $5 audit resource
}

// prepare takes the lock, creates the temporary tables and reads the recorded beneficiaries.
func (db statements) prepare(ctx context.Context) (*known, error) {
	// One import at a time per département: two would race on the same people.
	if _, err := db.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "parcours import beneficiaries "+db.departement); err != nil {
		return nil, fmt.Errorf("import beneficiaries: lock: %w", err)
	}
	for _, sql := range prepareSQL {
		if _, err := db.tx.Exec(ctx, sql); err != nil {
			return nil, fmt.Errorf("import beneficiaries: prepare: %w", err)
		}
	}
	rows, err := db.tx.Query(ctx, `SELECT id, payer, allocataire_number, birth_date, nir_hash FROM beneficiaries WHERE departement = $1`,
		db.departement)
	if err != nil {
		return nil, fmt.Errorf("import beneficiaries: recorded beneficiaries: %w", err)
	}
	k := newKnown()
	var r recorded
	var payer, number string
	var nirHash []byte
	_, err = pgx.ForEachRow(rows, []any{&r.id, &payer, &number, &r.birthDate, &nirHash}, func() error {
		k.add(payer+"/"+number, nirHash, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import beneficiaries: recorded beneficiaries: %w", err)
	}
	return k, nil
}

// write writes the batches as they come, then the changes.
func (db statements) write(ctx context.Context, rows *pipeline) (stored, error) {
	var st stored
	changes := false
	for b := range rows.batches {
		if err := db.insert(ctx, b, &st); err != nil {
			return stored{}, err
		}
		if b.changes.rows > 0 {
			changes = true
			if err := db.copy(ctx, b.changes, copyChangesSQL); err != nil {
				return stored{}, err
			}
		}
	}
	if rows.sink.refusal != nil {
		return stored{}, rows.sink.refusal
	}
	if !changes {
		return st, nil
	}
	err := db.tx.QueryRow(ctx, updateSQL(db.h), append(db.args, audit.ActionUpdate)...).Scan(&st.updated)
	if err != nil {
		return stored{}, fmt.Errorf("import beneficiaries: update: %w", err)
	}
	return st, nil
}

// insert creates the new beneficiaries of b.
func (db statements) insert(ctx context.Context, b *batch, st *stored) error {
	if b.inserts.rows == 0 {
		return nil
	}
	if err := db.copy(ctx, b.inserts, copyNewSQL); err != nil {
		return err
	}
	var created int
	if err := db.tx.QueryRow(ctx, insertSQL, append(db.args, audit.ActionCreate)...).Scan(&created); err != nil {
		return fmt.Errorf("import beneficiaries: insert: %w", err)
	}
	st.created += created
	if _, err := db.tx.Exec(ctx, `TRUNCATE `+newTable); err != nil {
		return fmt.Errorf("import beneficiaries: next batch: %w", err)
	}
	return nil
}

func (db statements) copy(ctx context.Context, s *copyStream, sql string) error {
	if _, err := db.tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(s.end()), sql); err != nil {
		return fmt.Errorf("import beneficiaries: copy: %w", err)
	}
	return nil
}

// audited appends to a statement whose CTE "written" returns the ids of the beneficiaries
// it wrote one audit row per id, and counts them. Parameters: $1 département, $2 actor,
// $3 role, $4 request id, $5 resource, $6 action.
const audited = `, audited AS (
		INSERT INTO audit_events (departement, actor, role, action, resource, resource_id, request_id)
		SELECT $1, $2, $3, $6, $5, id::text, $4 FROM written
	)
	SELECT count(*) FROM written`

// insertSQL inserts the rows of newTable. It does not sort them: the scan of the freshly
// truncated temporary table reads them in the order the COPY wrote them, the order of the
// file, and nothing depends on the order of the ids anyway (sorting by line cost 5 % of the
// import). A beneficiary created meanwhile with the same key or NIR fails it (a unique
// violation, which store reports as a conflict). Parameters: see audited.
var insertSQL = `WITH written AS (
		INSERT INTO beneficiaries (departement, ` + strings.Join(copyColumns, ", ") + `)
		SELECT $1, ` + strings.Join(copyColumns, ", ") + ` FROM ` + newTable + `
		RETURNING id
	)` + audited

// updateSQL updates the recorded beneficiaries whose row in changesTable differs: the
// changeable columns the file has, and the NIR when the row gives one; it bumps version and
// updated_at. Unchanged beneficiaries are not touched. Parameters: see audited.
func updateSQL(h header) string {
	var sets, olds, news []string
	for _, col := range changeable {
		if h.has(col) {
			name := columnNames[col]
			sets = append(sets, name+" = s."+name)
			olds = append(olds, "b."+name)
			news = append(news, "s."+name)
		}
	}
	return `WITH written AS (
		UPDATE beneficiaries b SET ` + strings.Join(sets, ", ") + `,
			nir_ciphertext = COALESCE(s.nir_ciphertext, b.nir_ciphertext),
			nir_hash = COALESCE(s.nir_hash, b.nir_hash),
			version = b.version + 1, updated_at = now()
		FROM ` + changesTable + ` s
		WHERE b.departement = $1 AND b.id = s.id
		  AND ((` + strings.Join(olds, ", ") + `) IS DISTINCT FROM (` + strings.Join(news, ", ") + `)
		       OR (s.nir_hash IS NOT NULL AND s.nir_hash IS DISTINCT FROM b.nir_hash))
		RETURNING b.id
	)` + audited
}

// known is what the checks need of the beneficiaries recorded in the département before
// the import: rows are checked against them in Go, as the file streams, rather than joined
// with them in SQL once the whole file is read. Rows the import itself creates need no
// check: two rows of a file never share a key or a NIR (sink.sameTwice).
type known struct {
	byKey map[string]recorded // payer/allocataire number
	byNIR map[string]int64    // NIR hash → id
}

// recorded is a recorded beneficiary.
type recorded struct {
	id        int64
	birthDate time.Time
}

func newKnown() *known {
	return &known{byKey: map[string]recorded{}, byNIR: map[string]int64{}}
}

func (k *known) add(key string, nirHash []byte, r recorded) {
	k.byKey[key] = r
	if nirHash != nil {
		k.byNIR[string(nirHash)] = r.id
	}
}

// check finds the recorded beneficiary a valid row matches (id 0 when the row is new), and
// rejects the row when it contradicts one: a NIR recorded for another beneficiary, or
// another birth date (an import does not change it).
func (k *known) check(r checked) (int64, []services.FieldError) {
	match, found := k.byKey[r.key]
	if owner, taken := k.byNIR[string(r.nirHash)]; r.nirHash != nil && taken && (!found || owner != match.id) {
		return 0, []services.FieldError{{Field: "nir", Message: fmt.Sprintf("beneficiary %d, another allocataire, already has this NIR", owner)}}
	}
	if !found {
		return 0, nil
	}
	if !match.birthDate.Equal(r.birthDate) {
		return 0, []services.FieldError{{Field: "birth_date",
			Message: fmt.Sprintf("differs from the birth date recorded for beneficiary %d, which an import does not change", match.id)}}
	}
	return match.id, nil
}
