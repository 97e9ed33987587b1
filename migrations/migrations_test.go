package migrations_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/migrations"
	"parcours/services/servicetest"
)

func TestDownThenUpAgain(t *testing.T) {
	db := servicetest.NewDB(t)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	ctx := context.Background()

	state, err := migrations.CurrentState(ctx, sqlDB)
	require.NoError(t, err)
	assert.True(t, state.IsCurrent())
	assert.Positive(t, state.Latest)

	p, err := migrations.NewProvider(sqlDB)
	require.NoError(t, err)
	for range state.Latest {
		_, err := p.Down(ctx)
		require.NoError(t, err)
	}
	state, err = migrations.CurrentState(ctx, sqlDB)
	require.NoError(t, err)
	assert.Equal(t, int64(0), state.Current)
	assert.False(t, state.IsCurrent())

	var tables int
	require.NoError(t, db.Raw(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'goose_db_version'`).Scan(&tables).Error)
	assert.Zero(t, tables, "down migrations leave no table behind")

	res, err := migrations.Up(ctx, sqlDB)
	require.NoError(t, err)
	assert.Len(t, res, int(state.Latest))
}

func TestAuditEventsAreAppendOnly(t *testing.T) {
	db := servicetest.NewDB(t)
	require.NoError(t, db.Exec(`INSERT INTO audit_events (departement, actor, role, action, resource, resource_id) VALUES ('47', 'a', 'admin', 'create', 'territory', '47-X')`).Error)
	for _, stmt := range []string{
		`UPDATE audit_events SET actor = 'someone else'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
	} {
		err := db.Exec(stmt).Error
		require.Error(t, err, stmt)
		assert.Contains(t, err.Error(), "append-only", stmt)
	}
	var actor string
	require.NoError(t, db.Raw(`SELECT actor FROM audit_events`).Scan(&actor).Error)
	assert.Equal(t, "a", actor)
}
