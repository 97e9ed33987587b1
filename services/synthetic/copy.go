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

// copyTable writes t in one transaction: it reserves t.rows ids from the table's identity
// sequence, then COPYs the rows with them (COPY writes identity values as given), so that
// the rows referring to t know their ids without reading them back.
func copyTable(ctx context.Context, db *gorm.DB, t table, ids idSet) error {
	err := services.WithPgxTx(ctx, db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, t.name, t.rows)
		if err != nil {
			return fmt.Errorf("reserve ids: %w", err)
		}
		reserved, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("reserve ids: %w", err)
		}
		ids[t.name] = reserved
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
	})
	if err != nil {
		return fmt.Errorf("synthetic %s: %w", t.name, err)
	}
	return nil
}

// money is an amount in cents as a numeric(14,2).
func money(cents int64) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(cents), Exp: -2, Valid: true}
}
