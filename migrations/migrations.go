// Package migrations holds the SQL schema as numbered goose migrations embedded in the
// binary, and the functions that apply them and report the schema's state.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/pressly/goose/v3"
)

// FS is the embedded migration set.
//
//go:embed *.sql
var FS embed.FS

// NewProvider returns a goose provider over the embedded migrations for db.
func NewProvider(db *sql.DB) (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration.
func Up(ctx context.Context, db *sql.DB) ([]*goose.MigrationResult, error) {
	p, err := NewProvider(db)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate up: %w", err)
	}
	return res, nil
}

// State is where the database schema stands against the embedded migrations.
type State struct {
	Current int64
	Latest  int64
}

// IsCurrent reports whether every migration has been applied.
func (s State) IsCurrent() bool { return s.Current == s.Latest }

// CurrentState reads the schema version of db.
func CurrentState(ctx context.Context, db *sql.DB) (State, error) {
	p, err := NewProvider(db)
	if err != nil {
		return State{}, err
	}
	current, latest, err := p.GetVersions(ctx)
	if err != nil {
		return State{}, fmt.Errorf("read schema version: %w", err)
	}
	return State{Current: current, Latest: latest}, nil
}
