package demo_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services/budget"
	"parcours/services/demo"
	"parcours/services/servicetest"
)

func TestSeedLoadsTheEightTerritoriesOnce(t *testing.T) {
	db := servicetest.NewDB(t)
	ctx := context.Background()
	rep, err := demo.Seed(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, demo.Report{Created: 8, Budget: budget.SeedReport{Loaded: true, Actions: 14, BudgetLines: 37, Indicators: 76, FundingLines: 7}}, rep)

	rep, err = demo.Seed(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, demo.Report{Existing: 8}, rep, "a second run changes nothing")

	var rows []models.Territory
	require.NoError(t, db.Order("code").Find(&rows).Error)
	names := map[string]string{}
	for _, r := range rows {
		assert.Equal(t, "47", r.Departement)
		names[r.Code] = r.Name
	}
	assert.Equal(t, map[string]string{
		"47-AGEN1": "Agen 1", "47-AGEN2": "Agen 2", "47-AGEN3": "Agen 3",
		"47-VILLENEUVE": "Villeneuve-sur-Lot", "47-FUMEL": "Fumel", "47-MARMANDE": "Marmande",
		"47-TONNEINS": "Tonneins", "47-NERAC": "Nérac",
	}, names)

	var audited int64
	require.NoError(t, db.Model(&models.AuditEvent{}).Where("actor = ? AND action = 'create'", "parcours seed demo").Count(&audited).Error)
	assert.Equal(t, int64(9), audited, "the seed's writes are audited too: 8 territories and the convention")
}
