package services

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// WithPgxTx runs fn in one transaction on one pgx connection taken from db's pool, for what
// only pgx does (COPY): it commits when fn returns nil and rolls back otherwise.
func WithPgxTx(ctx context.Context, db *gorm.DB, fn func(tx pgx.Tx) error) error {
	return withPgxConn(ctx, db, "pgx transaction", func(conn *pgx.Conn) error {
		return pgx.BeginFunc(ctx, conn, fn)
	})
}

// withPgxConn runs fn on the pgx connection of a database/sql connection taken from db's
// pool; what names the work in errors.
func withPgxConn(ctx context.Context, db *gorm.DB, what string, fn func(*pgx.Conn) error) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("%s: database handle: %w", what, err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: connect: %w", what, err)
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("%s: the database driver is %T, not pgx", what, driverConn)
		}
		return fn(pc.Conn())
	})
}

// Row is the one row a statement answers, as pgx or database/sql hands it out; Scan returns
// an error that is sql.ErrNoRows when there is none.
type Row interface {
	Scan(dest ...any) error
}

// QueryRow runs query, one statement, and hands its one row to fn (a row it must scan). On
// its own it is one round trip on a connection of db's pool, and the statement is its own
// transaction: what it writes (a read's audit row, in the same statement as the read) is
// committed whole when it completes, or not at all, whatever fn then does with the row.
// Inside the transaction ctx carries (WithTx), it runs query there and leaves the end of the
// transaction to its owner.
func QueryRow(ctx context.Context, db *gorm.DB, query string, args []any, fn func(Row) error) error {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(tx.Statement.ConnPool.QueryRowContext(ctx, query, args...))
	}
	return withPgxConn(ctx, db, "query row", func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close() // also when fn panics or does not scan: the connection goes back clean
		return fn(firstRow{rows})
	})
}

// firstRow is the first row of rows as a Row.
type firstRow struct{ rows pgx.Rows }

func (r firstRow) Scan(dest ...any) error {
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
