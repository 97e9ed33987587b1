package services

import (
	"context"
	"database/sql"
	"fmt"

	"gorm.io/gorm"
)

type txKey struct{}

// WithTx runs fn in one database transaction, committed when fn returns nil and rolled back
// otherwise. The transaction travels in the context given to fn, so a nested WithTx (or Conn)
// joins it instead of opening a second one.
func WithTx(ctx context.Context, db *gorm.DB, fn func(ctx context.Context, tx *gorm.DB) error) error {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx, tx)
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx), tx)
	})
}

// Conn returns the transaction carried by ctx, or db bound to ctx when there is none.
func Conn(ctx context.Context, db *gorm.DB) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return db.WithContext(ctx)
}

// ReadSnapshot runs fn, a report's or an export's reads, in one read-only REPEATABLE READ
// transaction (every figure from the same snapshot, however long the reads take) whose
// statements are planned for their actual arguments (plan_cache_mode = force_custom_plan): the
// reports' optional filters (a territory that is either given or empty) make the generic plan
// PostgreSQL switches to after five executions of a prepared statement markedly slower than a
// custom one. The transaction travels in the context given to fn (Conn); inside the
// transaction ctx already carries, fn runs there as it is.
func ReadSnapshot(ctx context.Context, db *gorm.DB, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL plan_cache_mode = force_custom_plan").Error; err != nil {
			return fmt.Errorf("read snapshot: %w", err)
		}
		return fn(context.WithValue(ctx, txKey{}, tx))
	}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
}
