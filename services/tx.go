package services

import (
	"context"

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
