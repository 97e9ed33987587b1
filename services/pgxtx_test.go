package services_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/servicetest"
)

// insertTerritory writes a territory and answers its code: a statement that reads and writes,
// as an audited read does.
const insertTerritory = `INSERT INTO territories (departement, code, name) VALUES ('47', $1, 'Test') RETURNING code`

func territories(t *testing.T, db *gorm.DB, code string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table("territories").Where("code = ?", code).Count(&n).Error)
	return n
}

func TestQueryRowIsOneStatementCommittedWhole(t *testing.T) {
	db := servicetest.NewDB(t)
	ctx := context.Background()
	scan := func(row services.Row) (string, error) {
		var code string
		return code, row.Scan(&code)
	}

	require.NoError(t, services.QueryRow(ctx, db, insertTerritory, []any{"47-KEPT"}, func(row services.Row) error {
		code, err := scan(row)
		assert.Equal(t, "47-KEPT", code)
		return err
	}))
	assert.Equal(t, int64(1), territories(t, db, "47-KEPT"))

	refused := errors.New("refused after reading")
	err := services.QueryRow(ctx, db, insertTerritory, []any{"47-STANDS"}, func(row services.Row) error {
		if _, err := scan(row); err != nil {
			return err
		}
		return refused
	})
	assert.ErrorIs(t, err, refused)
	assert.Equal(t, int64(1), territories(t, db, "47-STANDS"), "the statement committed when it completed")

	err = services.QueryRow(ctx, db, `SELECT code FROM territories WHERE code = $1`, []any{"47-NONE"}, func(row services.Row) error {
		_, err := scan(row)
		return err
	})
	assert.ErrorIs(t, err, sql.ErrNoRows)

	err = services.QueryRow(ctx, db, insertTerritory, []any{"47-KEPT"}, func(row services.Row) error {
		_, err := scan(row)
		return err
	})
	assert.ErrorContains(t, err, "duplicate key", "a failing statement is an error of Scan")

	assert.Panics(t, func() {
		_ = services.QueryRow(ctx, db, `SELECT code FROM territories`, nil, func(services.Row) error {
			panic("fn panics before scanning")
		})
	})
	for range 5 { // every pooled connection still works
		require.NoError(t, services.QueryRow(ctx, db, `SELECT code FROM territories WHERE code = $1`, []any{"47-KEPT"}, func(row services.Row) error {
			_, err := scan(row)
			return err
		}))
	}
}

func TestQueryRowJoinsTheTransactionOfTheContext(t *testing.T) {
	db := servicetest.NewDB(t)
	outerFails := errors.New("the outer transaction fails later")
	err := services.WithTx(context.Background(), db, func(ctx context.Context, _ *gorm.DB) error {
		require.NoError(t, services.QueryRow(ctx, db, insertTerritory, []any{"47-INNER"}, func(row services.Row) error {
			var code string
			return row.Scan(&code)
		}))
		return outerFails
	})
	assert.ErrorIs(t, err, outerFails)
	assert.Zero(t, territories(t, db, "47-INNER"), "the inner statement rolls back with the outer transaction")
}
