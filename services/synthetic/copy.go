package synthetic

import (
	"context"
	"fmt"
	"math/big"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm"

	"parcours/services"
)

// table is one table of the plan: rows rows of columns (the id excepted), row(i) giving the
// values of the i-th from the ids already written.
type table struct {
	name    string
	columns []string
	rows    int
	row     func(i int) []any
}

// idSet holds the ids written, by table, in the order of the plan's rows.
type idSet map[string][]int64

// maintenanceMemory is what the index builds and foreign key checks after a COPY may sort in.
const maintenanceMemory = "256MB"

// copyTable writes t in one transaction: it reserves t.rows ids from the table's identity
// sequence, then COPYs the rows with them (COPY writes identity values as given), so that
// the rows referring to t know their ids without reading them back.
//
// The table's foreign keys and secondary indexes (those backing no constraint) are dropped
// for the COPY and put back before the commit: PostgreSQL then checks each key in one join
// and builds each index in one sort, instead of a lookup and row lock per row and key and an
// index insertion per row and index, which made most of the time of a national seed. The
// primary key and unique constraints stay. Nothing is committed unchecked, and a failure
// rolls the drops back with the rows.
func copyTable(ctx context.Context, db *gorm.DB, t table, ids idSet) error {
	err := services.WithPgxTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('maintenance_work_mem', $1, true)`, maintenanceMemory); err != nil {
			return fmt.Errorf("set maintenance_work_mem: %w", err)
		}
		deferred, err := deferChecks(ctx, tx, t.name)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, t.name, t.rows)
		if err != nil {
			return fmt.Errorf("reserve ids: %w", err)
		}
		reserved, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("reserve ids: %w", err)
		}
		ids[t.name] = reserved
		if err := copyRows(ctx, tx, t, reserved); err != nil {
			return err
		}
		for _, d := range deferred {
			if _, err := tx.Exec(ctx, d.restore); err != nil {
				return fmt.Errorf("put %s back: %w", d.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("synthetic %s: %w", t.name, err)
	}
	return nil
}

// copyRows COPYs the rows of t with the ids reserved for them.
func copyRows(ctx context.Context, tx pgx.Tx, t table, reserved []int64) error {
	i := -1
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, append([]string{"id"}, t.columns...), pgx.CopyFromFunc(func() ([]any, error) {
		i++
		if i == t.rows {
			return nil, nil
		}
		return append([]any{reserved[i]}, t.row(i)...), nil
	}))
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if n != int64(t.rows) {
		return fmt.Errorf("copy: %d rows written of %d", n, t.rows)
	}
	return nil
}

// check is a foreign key or secondary index of a table, dropped for a COPY: restore is the
// statement that puts it back.
type check struct {
	name, restore string
}

// deferredChecksSQL lists the foreign keys of table $1 and its indexes that back no
// constraint, with the statements that drop and restore them.
const deferredChecksSQL = `SELECT conname,
       format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
FROM pg_constraint
WHERE conrelid = CAST($1 AS regclass) AND contype = 'f'
UNION ALL
SELECT CAST(indexrelid::regclass AS text), format('DROP INDEX %s', indexrelid::regclass), pg_get_indexdef(indexrelid)
FROM pg_index i
WHERE indrelid = CAST($1 AS regclass) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1`

// deferChecks drops the foreign keys and secondary indexes of table and returns them.
func deferChecks(ctx context.Context, tx pgx.Tx, table string) ([]check, error) {
	rows, err := tx.Query(ctx, deferredChecksSQL, table)
	if err != nil {
		return nil, fmt.Errorf("read the foreign keys and indexes: %w", err)
	}
	var drops []string
	checks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (check, error) {
		var c check
		var drop string
		err := r.Scan(&c.name, &drop, &c.restore)
		drops = append(drops, drop)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the foreign keys and indexes: %w", err)
	}
	for i, drop := range drops {
		if _, err := tx.Exec(ctx, drop); err != nil {
			return nil, fmt.Errorf("drop %s for the copy: %w", checks[i].name, err)
		}
	}
	return checks, nil
}

// money is an amount in cents as a numeric(14,2).
func money(cents int64) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(cents), Exp: -2, Valid: true}
}
