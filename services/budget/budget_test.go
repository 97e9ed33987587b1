package budget_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/servicetest"
)

// seeded returns a database holding the 2020 convention and a context for département 47.
func seeded(t *testing.T) (*gorm.DB, context.Context) {
	t.Helper()
	db := servicetest.NewDB(t)
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	ctx := servicetest.As(servicetest.Admin47)
	rep, err := budget.Seed(ctx, db, doc)
	require.NoError(t, err)
	require.True(t, rep.Loaded)
	return db, ctx
}

func eur(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestSeedLoadsAnnexe3ToTheCent(t *testing.T) {
	db, ctx := seeded(t)
	y, err := budget.New(db).Year(ctx, 2020)
	require.NoError(t, err)

	assert.Len(t, y.Actions, 14)
	assert.True(t, eur("1936652").Equal(y.Totals.Budget), y.Totals.Budget.String())
	assert.True(t, eur("650732").Equal(y.Totals.StateShare), y.Totals.StateShare.String())
	assert.True(t, eur("742977").Equal(y.Totals.DepartementShare), y.Totals.DepartementShare.String())
	assert.True(t, eur("542943").Equal(y.Totals.Carryover), y.Totals.Carryover.String())
	assert.True(t, eur("0").Equal(y.Totals.OtherFunders))
	assert.True(t, eur("802232.79").Equal(y.Prenotified), y.Prenotified.String())
	assert.True(t, eur("650732").Equal(y.StateSupport))
	assert.Equal(t, "2019-06-28", y.Convention.SignedOn.Format("2006-01-02"))
	require.Len(t, y.Amendments, 2)
	assert.Equal(t, 2, y.Amendments[1].Number)

	var a44 budget.ActionSummary
	for _, a := range y.Actions {
		if a.Code == "4.4" {
			a44 = a
		}
	}
	assert.Equal(t, "socle", a44.Category)
	assert.Equal(t, "0304 50 19 19 07", a44.FundingLine)
	for name, pair := range map[string][2]decimal.Decimal{
		"budget": {eur("215000"), a44.Budget}, "state": {eur("15000"), a44.StateShare},
		"departement": {eur("40000"), a44.DepartementShare}, "carryover": {eur("160000"), a44.Carryover},
	} {
		assert.True(t, pair[0].Equal(pair[1]), "4.4 %s: %s", name, pair[1])
	}

	lines := map[string]budget.FundingLine{}
	for _, f := range y.FundingLines {
		lines[f.Chorus] = f
	}
	assert.Len(t, lines, 7)
	l07 := lines["0304 50 19 19 07"]
	assert.Equal(t, []string{"3.1", "4.1", "4.2", "4.3", "4.4", "4.5"}, l07.ActionCodes)
	assert.True(t, eur("295000").Equal(l07.Actions.Carryover), l07.Actions.Carryover.String())
	assert.True(t, eur("274993.43").Equal(l07.Prenotified))
	assert.Empty(t, lines["0304 50 19 19 11"].ActionCodes, "petite enfance: no action programmed")
}

func TestSeedIsIdempotent(t *testing.T) {
	db, ctx := seeded(t)
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	rep, err := budget.Seed(ctx, db, doc)
	require.NoError(t, err)
	assert.False(t, rep.Loaded)
	var n int64
	require.NoError(t, db.Table("actions").Count(&n).Error)
	assert.Equal(t, int64(14), n)
}

func TestActionWithItsLines(t *testing.T) {
	db, ctx := seeded(t)
	a, err := budget.New(db).Action(ctx, 2020, "4.2")
	require.NoError(t, err)
	require.Len(t, a.Lines, 6)
	assert.Equal(t, "Soutien aux projets", a.Lines[1].Label)
	assert.True(t, eur("23000").Equal(a.Lines[1].Amount))
	require.NotNil(t, a.Sheet)
	assert.True(t, eur("207746").Equal(a.Sheet.Amount))

	a64, err := budget.New(db).Action(ctx, 2020, "6.4")
	require.NoError(t, err)
	assert.Nil(t, a64.Sheet, "6.4 has no budget table")
	assert.Empty(t, a64.Lines)

	_, err = budget.New(db).Action(ctx, 2020, "9.9")
	assert.ErrorIs(t, err, services.ErrNotFound)
	_, err = budget.New(db).Year(ctx, 2031)
	assert.ErrorIs(t, err, services.ErrNotFound)

	other := servicetest.As(auth.Principal{Subject: "x", Role: auth.RoleAdmin, Departement: "33"})
	_, err = budget.New(db).Action(other, 2020, "4.2")
	assert.ErrorIs(t, err, services.ErrNotFound, "another département sees nothing")
}
