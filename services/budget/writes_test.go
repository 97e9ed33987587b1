package budget_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
	"parcours/services/budget"
	"parcours/services/servicetest"
)

func ptr[T any](v T) *T { return &v }

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var verr *services.ValidationError
	require.ErrorAs(t, err, &verr)
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestCreateAndUpdateAnAction(t *testing.T) {
	db, ctx := seeded(t)
	svc := budget.New(db)
	in := budget.ActionInput{
		Title: ptr("Insertion par l'activité économique"), Category: ptr("cil"), FundingLine: ptr("0304 50 19 19 10"),
		Budget: ptr(eur("10000")), StateShare: ptr(eur("5000")), DepartementShare: ptr(eur("5000")),
	}
	a, err := svc.CreateAction(ctx, 2020, "6.5", in)
	require.NoError(t, err)
	assert.Equal(t, "0304 50 19 19 10", a.FundingLine)
	assert.Equal(t, 1, a.Version)
	assert.True(t, eur("0").Equal(a.Carryover), "absent amounts are zero")

	y, err := svc.Year(ctx, 2020)
	require.NoError(t, err)
	assert.True(t, eur("1946652").Equal(y.Totals.Budget), "the totals follow: %s", y.Totals.Budget)

	_, err = svc.CreateAction(ctx, 2020, "6.5", in)
	assert.ErrorIs(t, err, services.ErrConflict)
	_, err = svc.CreateAction(ctx, 2031, "6.5", in)
	assert.ErrorIs(t, err, services.ErrNotFound)
	_, err = svc.CreateAction(ctx, 2020, "6.6", budget.ActionInput{Title: in.Title, Category: in.Category, FundingLine: ptr("0304 50 19 19 99")})
	assert.Equal(t, []string{"funding_line"}, fieldsOf(t, err))

	updated, err := svc.UpdateAction(ctx, 2020, "6.5", 1, budget.ActionInput{Budget: ptr(eur("12000.50")), Carryover: ptr(eur("2000.50"))})
	require.NoError(t, err)
	assert.Equal(t, 2, updated.Version)
	assert.True(t, eur("12000.50").Equal(updated.Budget))
	assert.Equal(t, "Insertion par l'activité économique", updated.Title, "untouched fields stay")

	_, err = svc.UpdateAction(ctx, 2020, "6.5", 1, budget.ActionInput{Budget: ptr(eur("1"))})
	assert.ErrorIs(t, err, services.ErrPreconditionFailed)
	_, err = svc.UpdateAction(ctx, 2020, "6.5", 2, budget.ActionInput{Valuation: ptr(eur("6000"))})
	assert.Equal(t, []string{"valuation"}, fieldsOf(t, err), "valuation is part of the département share")

	var actions []string
	require.NoError(t, db.Table("audit_events").Where("resource = 'action'").Order("id").Pluck("action", &actions).Error)
	assert.Equal(t, []string{"create", "update"}, actions)
}

func TestActionInputRules(t *testing.T) {
	db, ctx := seeded(t)
	svc := budget.New(db)
	tests := []struct {
		name   string
		code   string
		in     budget.ActionInput
		fields []string
	}{
		{"nothing", "6.5", budget.ActionInput{}, []string{"title", "funding_line", "category"}},
		{"bad code and category", "6.x", budget.ActionInput{Title: ptr("x"), Category: ptr("other"), FundingLine: ptr("0304 50 19 19 10")}, []string{"code", "category"}},
		{"bad chorus", "6.5", budget.ActionInput{Title: ptr("x"), Category: ptr("cil"), FundingLine: ptr("0304-50")}, []string{"funding_line"}},
		{"negative and three decimals", "6.5", budget.ActionInput{Title: ptr("x"), Category: ptr("cil"), FundingLine: ptr("0304 50 19 19 10"),
			Budget: ptr(eur("-1")), StateShare: ptr(eur("1.234"))}, []string{"budget", "state_share"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.CreateAction(ctx, 2020, tt.code, tt.in)
			assert.ElementsMatch(t, tt.fields, fieldsOf(t, err))
		})
	}
}

func TestFundingLinesAndBudgetLines(t *testing.T) {
	db, ctx := seeded(t)
	svc := budget.New(db)
	f, err := svc.CreateFundingLine(ctx, 2020, budget.FundingLineInput{Chorus: ptr("0304 50 19 19 12"), Label: ptr("Nouvelle ligne"),
		Theme: ptr("Thème"), Prenotified: ptr(eur("1000"))})
	require.NoError(t, err)
	assert.Equal(t, 1, f.Version)
	assert.Empty(t, f.ActionCodes)
	_, err = svc.CreateFundingLine(ctx, 2020, budget.FundingLineInput{Chorus: ptr("0304 50 19 19 12"), Label: ptr("x"), Theme: ptr("x")})
	assert.ErrorIs(t, err, services.ErrConflict)

	f, err = svc.UpdateFundingLine(ctx, f.ID, 1, budget.FundingLineInput{Carryover: ptr(eur("250.00"))})
	require.NoError(t, err)
	assert.Equal(t, 2, f.Version)
	assert.True(t, eur("250").Equal(f.Carryover))
	assert.True(t, eur("1000").Equal(f.Prenotified))

	l07, err := svc.FundingLine(ctx, mustLineID(t, svc, "0304 50 19 19 07"))
	require.NoError(t, err)
	assert.True(t, eur("896652").Equal(l07.Actions.Budget), "sums of 3.1 to 4.5: %s", l07.Actions.Budget)

	line, err := svc.CreateBudgetLine(ctx, 2020, "4.4", budget.BudgetLineInput{Label: ptr("Frais de dossier"), Amount: ptr(eur("300")),
		StateShare: ptr(eur("100")), DepartementShare: ptr(eur("200"))})
	require.NoError(t, err)
	assert.Equal(t, "4.4", line.ActionCode)
	_, err = svc.CreateBudgetLine(ctx, 2020, "4.4", budget.BudgetLineInput{Label: ptr("Déséquilibrée"), Amount: ptr(eur("300")), StateShare: ptr(eur("100"))})
	assert.Equal(t, []string{"amount"}, fieldsOf(t, err), "a new line's amount equals its shares")
	_, err = svc.CreateBudgetLine(ctx, 2020, "9.9", budget.BudgetLineInput{Label: ptr("x"), Amount: ptr(eur("0"))})
	assert.ErrorIs(t, err, services.ErrNotFound)

	a42, err := svc.Action(ctx, 2020, "4.2")
	require.NoError(t, err)
	soutien := a42.Lines[1]
	renamed, err := svc.UpdateBudgetLine(ctx, soutien.ID, 1, budget.BudgetLineInput{Label: ptr("Soutien aux projets (corrigé)")})
	require.NoError(t, err, "a label change is allowed on a line printed unbalanced")
	_, err = svc.UpdateBudgetLine(ctx, soutien.ID, renamed.Version, budget.BudgetLineInput{StateShare: ptr(eur("1327"))})
	assert.Equal(t, []string{"amount"}, fieldsOf(t, err), "an amount change must leave the line balanced")
	fixed, err := svc.UpdateBudgetLine(ctx, soutien.ID, renamed.Version, budget.BudgetLineInput{Amount: ptr(eur("10000"))})
	require.NoError(t, err)
	assert.Equal(t, 3, fixed.Version)
	assert.True(t, decimal.RequireFromString("10000").Equal(fixed.Amount))
}

func mustLineID(t *testing.T, svc *budget.Service, chorus string) int64 {
	t.Helper()
	y, err := svc.Year(servicetest.As(servicetest.Admin47), 2020)
	require.NoError(t, err)
	for _, f := range y.FundingLines {
		if f.Chorus == chorus {
			return f.ID
		}
	}
	t.Fatalf("no funding line %s", chorus)
	return 0
}
