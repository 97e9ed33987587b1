package health_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/migrations"
	"parcours/services/health"
	"parcours/services/servicetest"
)

func TestReadyOnlyWhenSchemaIsCurrent(t *testing.T) {
	db := servicetest.NewDB(t)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	ctx := context.Background()
	checker := health.Checker{DB: sqlDB}
	require.NoError(t, checker.Ready(ctx))

	p, err := migrations.NewProvider(sqlDB)
	require.NoError(t, err)
	_, err = p.Down(ctx)
	require.NoError(t, err)
	err = checker.Ready(ctx)
	assert.ErrorIs(t, err, health.ErrSchemaNotCurrent)
	assert.Contains(t, err.Error(), "parcours migrate up")

	require.NoError(t, sqlDB.Close())
	assert.ErrorContains(t, checker.Ready(ctx), "database unreachable")
}
