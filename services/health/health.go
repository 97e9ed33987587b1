// Package health tells whether the service can serve: the database answers and its schema is
// at the latest embedded migration.
package health

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"parcours/migrations"
)

// ErrSchemaNotCurrent is returned when migrations are pending (or the schema is newer).
var ErrSchemaNotCurrent = errors.New("database schema is not current")

// Checker checks one database.
type Checker struct {
	DB *sql.DB
}

// Ready returns nil when the database is reachable and its schema current; the error says
// which command fixes it otherwise.
func (c Checker) Ready(ctx context.Context) error {
	if err := c.DB.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	state, err := migrations.CurrentState(ctx, c.DB)
	if err != nil {
		return err
	}
	if !state.IsCurrent() {
		return fmt.Errorf("%w: it is at version %d and the latest migration is %d; run `parcours migrate up`",
			ErrSchemaNotCurrent, state.Current, state.Latest)
	}
	return nil
}
