package services

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// WithPgxTx runs fn in one transaction on one pgx connection taken from db's pool, for what
// only pgx does (COPY): it commits when fn returns nil and rolls back otherwise.
func WithPgxTx(ctx context.Context, db *gorm.DB, fn func(tx pgx.Tx) error) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("pgx transaction: database handle: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("pgx transaction: connect: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("pgx transaction: the database driver is %T, not pgx", driverConn)
		}
		return pgx.BeginFunc(ctx, pc.Conn(), fn)
	})
}
