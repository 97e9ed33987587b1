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

// WithRowTx runs query in a transaction and hands its one row to fn (a row it must scan), then
// commits when fn returns nil and rolls back otherwise: how a read that writes its own audit
// row (in the same statement) decides, once it has looked at the row, whether the two commit.
// On its own it sends BEGIN and query in one round trip (a pgx pipeline) on a connection of
// db's pool, then COMMIT or ROLLBACK: two round trips where a database/sql transaction takes
// three. Inside the transaction ctx carries (WithTx), it runs query there and leaves the end of
// the transaction to its owner.
func WithRowTx(ctx context.Context, db *gorm.DB, query string, args []any, fn func(Row) error) error {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(tx.Statement.ConnPool.QueryRowContext(ctx, query, args...))
	}
	return withPgxConn(ctx, db, "row transaction", func(conn *pgx.Conn) error {
		return pipelinedRowTx(ctx, conn, query, args, fn)
	})
}

// pipelinedRowTx is WithRowTx on one pgx connection. A connection left in a transaction (fn
// panicked, or the end of the transaction failed) is closed, so that the pool drops it.
func pipelinedRowTx(ctx context.Context, conn *pgx.Conn, query string, args []any, fn func(Row) error) (err error) {
	ended := false
	defer func() {
		if !ended {
			_ = conn.Close(context.Background())
		}
	}()
	var batch pgx.Batch
	batch.Queue("begin")
	batch.Queue(query, args...)
	results := conn.SendBatch(ctx, &batch)
	if _, err = results.Exec(); err == nil {
		err = fn(results.QueryRow())
	}
	if closeErr := results.Close(); err == nil {
		err = closeErr
	}
	end := "commit"
	if err != nil {
		end = "rollback"
	}
	tag, endErr := conn.Exec(ctx, end)
	if endErr == nil && end == "commit" && tag.String() != "COMMIT" {
		endErr = pgx.ErrTxCommitRollback // the transaction had failed: PostgreSQL rolled it back
	}
	if endErr != nil && err == nil {
		err = fmt.Errorf("row transaction: %s: %w", end, endErr)
	}
	ended = conn.PgConn().TxStatus() == 'I'
	return err
}
