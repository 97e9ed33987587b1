package reports_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/accruals/accompanimenttest"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/expenses"
	"parcours/services/money"
	"parcours/services/reports"
	"parcours/services/servicetest"
)

func TestStatus(t *testing.T) {
	n := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	none := decimal.NullDecimal{}
	tests := []struct {
		value, target decimal.NullDecimal
		comparator    string
		want          string
	}{
		{none, n("3"), "gte", reports.StatusNoData},
		{none, none, "", reports.StatusNoData},
		{n("2"), none, "", reports.StatusNoTarget},
		{n("3"), n("3"), "gte", reports.StatusMet},
		{n("2.99"), n("3"), "gte", reports.StatusBehind},
		{n("3"), n("3"), "gt", reports.StatusBehind},
		{n("3.01"), n("3"), "gt", reports.StatusMet},
		{n("60"), n("60"), "lte", reports.StatusMet},
		{n("60.5"), n("60"), "lte", reports.StatusBehind},
		{n("60"), n("60"), "lt", reports.StatusBehind},
		{n("49.9"), n("50"), "lt", reports.StatusMet},
		{n("20"), n("20.0"), "eq", reports.StatusMet},
		{n("19"), n("20"), "eq", reports.StatusBehind},
		{n("-120000"), n("-100000"), "lte", reports.StatusMet},
		{n("1"), n("1"), "about", reports.StatusBehind},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, reports.Status(tt.value, tt.target, tt.comparator), "%v %s %v", tt.value, tt.comparator, tt.target)
	}
}

func TestDefaultAsOf(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return d
	}
	for _, tt := range []struct {
		year        int
		today, want string
	}{
		{2020, "2020-09-30", "2020-09-30"},
		{2020, "2021-03-01", "2020-12-31"},
		{2020, "2019-11-15", "2020-01-01"},
		{2020, "2020-01-01", "2020-01-01"},
	} {
		assert.Equal(t, tt.want, reports.DefaultAsOf(tt.year, day(tt.today).Add(15*time.Hour)).Format(time.DateOnly), "%d on %s", tt.year, tt.today)
	}
}

// spendFixture is the 2020 convention with a ledger on fiche 4.2 and an enrolment costing
// 600 € a month from 16 March to 10 May 2020 (309.68 + 600.00 + 193.55 = 1103.23).
func spendFixture(t *testing.T) (*reports.Service, context.Context) {
	t.Helper()
	db := servicetest.NewDB(t)
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	ctx := servicetest.As(servicetest.Admin47)
	_, err = budget.Seed(ctx, db, doc)
	require.NoError(t, err)
	ledger(t, db, ctx)
	fx := accompanimenttest.New(t, db, "47")
	fx.Territory("47-AGEN1")
	org := fx.Organisation("Pôle emploi Agen", "pole_emploi")
	job := fx.Programme("JOB47", "4.2", accompanimenttest.PerMonth("600.00"))
	fx.Enrol(accompanimenttest.Journey{Territory: "47-AGEN1", Enrolment: accompanimenttest.Enrolment{
		Programme: job, Organisation: org, StartedOn: "2020-03-16", EndedOn: "2020-05-10", ExitReason: "moved"}})
	return reports.New(db, nil), ctx
}

// ledger writes on 4.2: a commitment of 50 000.00, payments of 20 000.00 (May) and 5 000.00
// (October), and a payment of 1 000.00 reversed in June.
func ledger(t *testing.T, db *gorm.DB, ctx context.Context) {
	t.Helper()
	svc := expenses.New(db)
	post := func(kind, amount, on string) expenses.Expense {
		d, err := time.Parse(time.DateOnly, on)
		require.NoError(t, err)
		a := decimal.RequireFromString(amount)
		e, err := svc.Create(ctx, expenses.Input{ActionCode: ptr("4.2"), Kind: &kind, Amount: &a, Date: &d, Supplier: ptr("Pôle emploi"), Reference: ptr("R")})
		require.NoError(t, err)
		return e
	}
	post(expenses.KindCommitment, "50000.00", "2020-02-10")
	post(expenses.KindPayment, "20000.00", "2020-05-15")
	post(expenses.KindPayment, "5000.00", "2020-10-01")
	wrong := post(expenses.KindPayment, "1000.00", "2020-06-01")
	on, _ := time.Parse(time.DateOnly, "2020-06-20")
	_, err := svc.Reverse(ctx, wrong.ID, expenses.ReverseInput{Date: &on})
	require.NoError(t, err)
}

func ptr[T any](v T) *T { return &v }

// figures writes the money of f as the API does, for comparison.
func figures(f reports.SpendFigures) map[string]any {
	m := func(d decimal.Decimal) string { return money.String(d) }
	return map[string]any{"budget": m(f.Budget), "state_share": m(f.StateShare), "committed": m(f.Committed), "paid": m(f.Paid),
		"accrued": m(f.Accrued), "consumed": m(f.Consumed), "remaining": m(f.Remaining), "state_consumed": m(f.StateConsumed),
		"execution_rate": f.ExecutionRate.StringFixed(4), "projected_year_end": m(f.ProjectedYearEnd), "flags": f.Flags}
}

func TestSpendAsOfADay(t *testing.T) {
	svc, ctx := spendFixture(t)
	asOf, _ := time.Parse(time.DateOnly, "2020-09-30")
	s, err := svc.Spend(ctx, 2020, &asOf)
	require.NoError(t, err)
	assert.Equal(t, "2020-09-30", s.AsOf.Format(time.DateOnly))
	require.Len(t, s.Actions, 14)
	require.Len(t, s.FundingLines, 7)

	byCode := map[string]reports.ActionSpend{}
	for _, a := range s.Actions {
		byCode[a.Code] = a
	}
	// Paid: 20 000.00 (the October payment is after as_of, the June one reversed); State part:
	// 9 898.00 of it (95 390 / 192 746 of 20 000, largest remainder) + 545.99 of the accruals.
	// 21 103.23 over 274 days of a 366-day year: 28 188.99 by 31 December.
	assert.Equal(t, map[string]any{"budget": "192746.00", "state_share": "95390.00", "committed": "50000.00", "paid": "20000.00",
		"accrued": "1103.23", "consumed": "21103.23", "remaining": "171642.77", "state_consumed": "10443.99",
		"execution_rate": "0.1095", "projected_year_end": "28188.99", "flags": []string{reports.FlagUnderspendRisk}}, figures(byCode["4.2"].SpendFigures))
	assert.Equal(t, "0304 50 19 19 07", byCode["4.2"].FundingLine)
	assert.Equal(t, map[string]any{"budget": "215000.00", "state_share": "15000.00", "committed": "0.00", "paid": "0.00",
		"accrued": "0.00", "consumed": "0.00", "remaining": "215000.00", "state_consumed": "0.00",
		"execution_rate": "0.0000", "projected_year_end": "0.00", "flags": []string{reports.FlagUnderspendRisk}}, figures(byCode["4.4"].SpendFigures))
	assert.Empty(t, byCode["6.4"].Flags, "a fiche without budget raises nothing")

	var line07 reports.FundingLineSpend
	for _, f := range s.FundingLines {
		if f.Chorus == "0304 50 19 19 07" {
			line07 = f
		}
	}
	assert.Equal(t, map[string]any{"budget": "896652.00", "state_share": "274993.00", "committed": "50000.00", "paid": "20000.00",
		"accrued": "1103.23", "consumed": "21103.23", "remaining": "875548.77", "state_consumed": "10443.99",
		"execution_rate": "0.0235", "projected_year_end": "28188.99", "flags": []string{reports.FlagUnderspendRisk}}, figures(line07.SpendFigures))
	assert.Equal(t, map[string]any{"budget": "1936652.00", "state_share": "650732.00", "committed": "50000.00", "paid": "20000.00",
		"accrued": "1103.23", "consumed": "21103.23", "remaining": "1915548.77", "state_consumed": "10443.99",
		"execution_rate": "0.0109", "projected_year_end": "28188.99", "flags": []string{reports.FlagUnderspendRisk}}, figures(s.Totals))
}

func TestSpendOfAPastYearRunsToDecember(t *testing.T) {
	svc, ctx := spendFixture(t)
	s, err := svc.Spend(ctx, 2020, nil)
	require.NoError(t, err)
	assert.Equal(t, "2020-12-31", s.AsOf.Format(time.DateOnly))
	for _, a := range s.Actions {
		if a.Code == "4.2" {
			assert.Equal(t, "25000.00", money.String(a.Paid))
			assert.Equal(t, "26103.23", money.String(a.ProjectedYearEnd), "the whole year: the projection is the consumption")
		}
	}
}

func TestSpendRefuses(t *testing.T) {
	svc, ctx := spendFixture(t)
	_, err := svc.Spend(ctx, 2030, nil)
	assert.ErrorIs(t, err, services.ErrNotFound)
	other, _ := time.Parse(time.DateOnly, "2021-01-01")
	_, err = svc.Spend(ctx, 2020, &other)
	var verr *services.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, "as_of", verr.Fields[0].Field)
	_, err = svc.Spend(servicetest.As(auth.Principal{Subject: "a", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}), 2020, nil)
	assert.ErrorIs(t, err, services.ErrForbidden)
	s, err := svc.Spend(servicetest.As(auth.Principal{Subject: "m33", Role: auth.RoleManager, Departement: "33"}), 2020, nil)
	assert.ErrorIs(t, err, services.ErrNotFound, "Gironde has no convention: %v", s)
}
