package expenses_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/expenses"
	"parcours/services/money"
	"parcours/services/servicetest"
)

func ptr[T any](v T) *T { return &v }

func date(t *testing.T, s string) *time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return &d
}

func amount(s string) *decimal.Decimal { return ptr(decimal.RequireFromString(s)) }

type fixture struct {
	t   *testing.T
	db  *gorm.DB
	svc *expenses.Service
	ctx context.Context
}

// seeded is the 2020 convention of Lot-et-Garonne and an empty ledger.
func seeded(t *testing.T) fixture {
	t.Helper()
	db := servicetest.NewDB(t)
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	ctx := servicetest.As(servicetest.Admin47)
	_, err = budget.Seed(ctx, db, doc)
	require.NoError(t, err)
	return fixture{t: t, db: db, svc: expenses.New(db), ctx: ctx}
}

// line is the id of the budget line labelled label of fiche code in 2020.
func (f fixture) line(code, label string) int64 {
	f.t.Helper()
	var id int64
	require.NoError(f.t, f.db.Raw(`SELECT l.id FROM budget_lines l JOIN actions a ON a.id = l.action_id
		WHERE a.code = ? AND a.year = 2020 AND l.label LIKE ?`, code, label+"%").Row().Scan(&id))
	return id
}

// counts are the ledger rows and audit rows, to prove a refusal wrote nothing.
func (f fixture) counts() [2]int64 {
	f.t.Helper()
	var out [2]int64
	require.NoError(f.t, f.db.Table("expenses").Count(&out[0]).Error)
	require.NoError(f.t, f.db.Table("audit_events").Count(&out[1]).Error)
	return out
}

func entry(kind, action, amt, on string, t *testing.T) expenses.Input {
	return expenses.Input{ActionCode: ptr(action), Kind: ptr(kind), Amount: amount(amt), Date: date(t, on),
		Supplier: ptr("Solincité"), Reference: ptr("ENG-2020-001")}
}

func shares(e expenses.Expense) []string {
	return []string{money.String(e.Shares.State), money.String(e.Shares.Departement), money.String(e.Shares.Carryover), money.String(e.Shares.Other)}
}

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

func TestEntriesAreSplitAcrossFunders(t *testing.T) {
	f := seeded(t)
	referent := f.line("4.4", "Référent de parcours")
	allocation := f.line("4.4", "Financement de l")

	tests := []struct {
		name   string
		in     func() expenses.Input
		shares []string
		funder *string
	}{
		{"no line: the fiche's Annexe 3 proportions, largest remainder", func() expenses.Input {
			return entry(expenses.KindCommitment, "4.4", "1000.00", "2020-03-02", t)
		}, []string{"69.77", "186.05", "744.18", "0.00"}, nil},
		{"a line: its proportions (all State)", func() expenses.Input {
			in := entry(expenses.KindCommitment, "4.4", "300.00", "2020-03-03", t)
			in.BudgetLineID = &referent
			return in
		}, []string{"300.00", "0.00", "0.00", "0.00"}, nil},
		{"a funder named: all of it", func() expenses.Input {
			in := entry(expenses.KindCommitment, "4.4", "99.99", "2020-03-04", t)
			in.BudgetLineID, in.Funder = &allocation, ptr(expenses.FunderCarryover)
			return in
		}, []string{"0.00", "0.00", "99.99", "0.00"}, ptr("carryover")},
		{"fiche 6.2 (106 339 / 139 718 / 222 943): one cent goes to the largest share", func() expenses.Input {
			return entry(expenses.KindCommitment, "6.2", "0.01", "2020-03-05", t)
		}, []string{"0.00", "0.00", "0.01", "0.00"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := f.svc.Create(f.ctx, tt.in())
			require.NoError(t, err)
			assert.Positive(t, e.ID)
			assert.Equal(t, tt.shares, shares(e))
			assert.Equal(t, tt.funder, e.Funder)
			sum := e.Shares.State.Add(e.Shares.Departement).Add(e.Shares.Carryover).Add(e.Shares.Other)
			assert.True(t, sum.Equal(e.Amount), "the shares add up to the amount")
			assert.Equal(t, 2020, e.Year)
			assert.Nil(t, e.ReversesID)
		})
	}
	var audited int64
	require.NoError(t, f.db.Table("audit_events").Where("resource = 'expense' AND action = 'create'").Count(&audited).Error)
	assert.Equal(t, int64(len(tests)), audited)
}

func TestPaymentsStayWithinTheirCommitments(t *testing.T) {
	f := seeded(t)
	referent := f.line("4.4", "Référent de parcours")
	onLine := func(in expenses.Input, line int64) expenses.Input {
		in.BudgetLineID = &line
		return in
	}
	for _, in := range []expenses.Input{
		onLine(entry(expenses.KindCommitment, "4.4", "300.00", "2020-02-03", t), referent),
		entry(expenses.KindCommitment, "4.4", "1000.00", "2020-02-04", t),
		onLine(entry(expenses.KindPayment, "4.4", "150.00", "2020-03-02", t), referent),
	} {
		_, err := f.svc.Create(f.ctx, in)
		require.NoError(t, err)
	}
	before := f.counts()

	// The line has 300.00 committed and 150.00 paid; the fiche 1300.00 committed.
	_, err := f.svc.Create(f.ctx, onLine(entry(expenses.KindPayment, "4.4", "150.01", "2020-03-03", t), referent))
	assert.Equal(t, []string{"amount"}, fieldsOf(t, err), "beyond the line's commitments, though within the fiche's")
	assert.Contains(t, err.Error(), "300.00")
	_, err = f.svc.Create(f.ctx, entry(expenses.KindPayment, "4.4", "1150.01", "2020-03-03", t))
	assert.Equal(t, []string{"amount"}, fieldsOf(t, err), "beyond the fiche's commitments")
	_, err = f.svc.Create(f.ctx, entry(expenses.KindPayment, "4.3", "0.01", "2020-03-03", t))
	assert.Equal(t, []string{"amount"}, fieldsOf(t, err), "another fiche has no commitment")
	_, err = f.svc.Create(f.ctx, onLine(entry(expenses.KindPayment, "4.3", "1.00", "2020-03-03", t), referent))
	assert.Equal(t, []string{"budget_line_id"}, fieldsOf(t, err), "a line of another fiche")
	_, err = f.svc.Create(f.ctx, onLine(entry(expenses.KindCommitment, "4.4", "1.00", "2020-03-03", t), 999999))
	assert.Equal(t, []string{"budget_line_id"}, fieldsOf(t, err), "an unknown line")
	_, err = f.svc.Create(f.ctx, entry(expenses.KindCommitment, "4.4", "1.00", "2019-12-31", t))
	assert.Equal(t, []string{"action_code"}, fieldsOf(t, err), "no fiche 4.4 in 2019")
	_, err = f.svc.Create(f.ctx, entry(expenses.KindCommitment, "6.4", "1.00", "2020-03-03", t))
	assert.Equal(t, []string{"funder"}, fieldsOf(t, err), "fiche 6.4 has no shares to split by")
	assert.Equal(t, before, f.counts(), "refusals write nothing")

	// Exactly up to the commitments is fine, on the line and on the fiche.
	_, err = f.svc.Create(f.ctx, onLine(entry(expenses.KindPayment, "4.4", "150.00", "2020-03-03", t), referent))
	require.NoError(t, err)
	_, err = f.svc.Create(f.ctx, entry(expenses.KindPayment, "4.4", "1000.00", "2020-03-04", t))
	require.NoError(t, err)
	_, err = f.svc.Create(f.ctx, entry(expenses.KindCommitment, "6.4", "1.00", "2020-03-03", t))
	assert.Equal(t, []string{"funder"}, fieldsOf(t, err))
	in := entry(expenses.KindCommitment, "6.4", "1.00", "2020-03-03", t)
	in.Funder = ptr(expenses.FunderDepartement)
	_, err = f.svc.Create(f.ctx, in)
	assert.NoError(t, err, "with a funder named, a fiche without shares takes entries")
}

func TestInputRules(t *testing.T) {
	f := seeded(t)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	tests := []struct {
		name   string
		in     expenses.Input
		fields []string
	}{
		{"empty", expenses.Input{}, []string{"action_code", "kind", "amount", "date", "supplier", "reference"}},
		{"bad values", expenses.Input{ActionCode: ptr("4.4"), Kind: ptr("invoice"), Amount: amount("0"), Date: date(t, tomorrow),
			Supplier: ptr("  "), Reference: ptr("R\x00"), Funder: ptr("region"), BudgetLineID: ptr(int64(-1))},
			[]string{"kind", "amount", "date", "supplier", "reference", "funder", "budget_line_id"}},
		{"fractions of a cent", expenses.Input{ActionCode: ptr("4.4"), Kind: ptr("payment"), Amount: amount("1.005"), Date: date(t, "2020-01-02"),
			Supplier: ptr("x"), Reference: ptr("y")}, []string{"amount"}},
		{"negative", expenses.Input{ActionCode: ptr("4.4"), Kind: ptr("payment"), Amount: amount("-5"), Date: date(t, "2020-01-02"),
			Supplier: ptr("x"), Reference: ptr("y")}, []string{"amount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Create(f.ctx, tt.in)
			assert.ElementsMatch(t, tt.fields, fieldsOf(t, err))
			assert.ElementsMatch(t, tt.fields, fieldsOf(t, tt.in.Validate(true)))
		})
	}
	manager := servicetest.As(auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"})
	_, err := f.svc.Create(manager, entry(expenses.KindCommitment, "4.4", "1.00", "2020-03-03", t))
	assert.ErrorIs(t, err, services.ErrForbidden)
	_, err = f.svc.Reverse(manager, 1, expenses.ReverseInput{})
	assert.ErrorIs(t, err, services.ErrForbidden)
}

func TestReversals(t *testing.T) {
	f := seeded(t)
	commitment, err := f.svc.Create(f.ctx, entry(expenses.KindCommitment, "4.4", "1000.00", "2020-02-03", t))
	require.NoError(t, err)
	payment, err := f.svc.Create(f.ctx, entry(expenses.KindPayment, "4.4", "400.00", "2020-04-01", t))
	require.NoError(t, err)

	before := f.counts()
	_, err = f.svc.Reverse(f.ctx, commitment.ID, expenses.ReverseInput{})
	assert.ErrorIs(t, err, services.ErrConflict, "the payment still needs the commitment")
	assert.Contains(t, err.Error(), "400.00")
	_, err = f.svc.Reverse(f.ctx, payment.ID, expenses.ReverseInput{Date: date(t, "2020-03-31")})
	assert.Equal(t, []string{"date"}, fieldsOf(t, err), "before the reversed entry")
	_, err = f.svc.Reverse(f.ctx, payment.ID, expenses.ReverseInput{Date: date(t, "2021-01-04")})
	assert.Equal(t, []string{"date"}, fieldsOf(t, err), "another year")
	_, err = f.svc.Reverse(f.ctx, 999999, expenses.ReverseInput{})
	assert.ErrorIs(t, err, services.ErrNotFound)
	_, err = f.svc.Reverse(servicetest.As(auth.Principal{Subject: "a33", Role: auth.RoleAdmin, Departement: "33"}), payment.ID, expenses.ReverseInput{})
	assert.ErrorIs(t, err, services.ErrNotFound, "another département's entry")
	assert.Equal(t, before, f.counts(), "refusals write nothing")

	reversal, err := f.svc.Reverse(f.ctx, payment.ID, expenses.ReverseInput{Date: date(t, "2020-04-15"), Reference: ptr("ANNUL-1")})
	require.NoError(t, err)
	assert.Equal(t, "-400.00", money.String(reversal.Amount))
	assert.Equal(t, []string{"-27.91", "-74.42", "-297.67", "0.00"}, shares(reversal), "the reversed entry's shares, negated")
	assert.Equal(t, []string{"27.91", "74.42", "297.67", "0.00"}, shares(payment))
	assert.Equal(t, &payment.ID, reversal.ReversesID)
	assert.Equal(t, expenses.KindPayment, reversal.Kind)
	assert.Equal(t, "ANNUL-1", reversal.Reference)
	assert.Equal(t, "2020-04-15", reversal.Date.Format(time.DateOnly))

	_, err = f.svc.Reverse(f.ctx, payment.ID, expenses.ReverseInput{})
	assert.ErrorIs(t, err, services.ErrConflict, "a second reversal")
	_, err = f.svc.Reverse(f.ctx, reversal.ID, expenses.ReverseInput{})
	assert.ErrorIs(t, err, services.ErrConflict, "the reversal of a reversal")

	// Nothing paid any more: the commitment may go, dated as itself by default.
	undone, err := f.svc.Reverse(f.ctx, commitment.ID, expenses.ReverseInput{})
	require.NoError(t, err)
	assert.Equal(t, "2020-02-03", undone.Date.Format(time.DateOnly))
	assert.Equal(t, commitment.Reference, undone.Reference)
	_, err = f.svc.Create(f.ctx, entry(expenses.KindPayment, "4.4", "0.01", "2020-04-16", t))
	assert.Equal(t, []string{"amount"}, fieldsOf(t, err), "no commitment left")
}

func TestTheLedgerIsAppendOnly(t *testing.T) {
	f := seeded(t)
	_, err := f.svc.Create(f.ctx, entry(expenses.KindCommitment, "4.4", "10.00", "2020-02-03", t))
	require.NoError(t, err)
	require.NoError(t, f.db.Exec(`INSERT INTO indicator_values (departement, indicator_id, period, value, source)
		SELECT '47', id, '2020', 1, 'test' FROM indicators WHERE method = 'declared' LIMIT 1`).Error)
	for _, stmt := range []string{
		`UPDATE expenses SET amount = 20`, `DELETE FROM expenses`, `TRUNCATE expenses`,
		`UPDATE indicator_values SET value = 2`, `DELETE FROM indicator_values`, `TRUNCATE indicator_values`,
	} {
		err := f.db.Exec(stmt).Error
		require.Error(t, err, stmt)
		assert.Contains(t, err.Error(), "append-only", stmt)
	}
	assert.Equal(t, int64(1), f.counts()[0])
	// The database itself refuses an entry whose shares do not add up.
	err = f.db.Exec(`INSERT INTO expenses (departement, action_id, kind, amount, entry_date, supplier, reference,
		state_share, departement_share, carryover_share, other_share)
		SELECT '47', id, 'payment', 10, '2020-02-03', 's', 'r', 3.33, 3.33, 3.33, 0 FROM actions WHERE code = '4.4'`).Error
	assert.Error(t, err)
}

func TestList(t *testing.T) {
	f := seeded(t)
	var ids []int64
	for _, e := range []struct{ action, amount, on string }{
		{"4.4", "10.00", "2020-01-15"}, {"4.1", "20.00", "2020-02-15"}, {"4.4", "30.00", "2020-03-15"}, {"4.4", "40.00", "2020-04-15"},
	} {
		x, err := f.svc.Create(f.ctx, entry(expenses.KindCommitment, e.action, e.amount, e.on, t))
		require.NoError(t, err)
		ids = append(ids, x.ID)
	}
	manager := servicetest.As(auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"})
	list := func(ctx context.Context, flt expenses.Filter) ([]int64, []string) {
		t.Helper()
		page, err := f.svc.List(ctx, flt)
		require.NoError(t, err)
		var got []int64
		for _, e := range page.Items {
			got = append(got, e.ID)
		}
		return got, page.Next
	}
	all, next := list(manager, expenses.Filter{Page: services.PageRequest{Limit: 50}})
	assert.Equal(t, ids, all)
	assert.Nil(t, next)

	got, _ := list(f.ctx, expenses.Filter{ActionCode: "4.4", From: date(t, "2020-02-01"), To: date(t, "2020-03-31"), Page: services.PageRequest{Limit: 50}})
	assert.Equal(t, []int64{ids[2]}, got)

	first, next := list(f.ctx, expenses.Filter{ActionCode: "4.4", Page: services.PageRequest{Limit: 2}})
	assert.Equal(t, []int64{ids[0], ids[2]}, first)
	require.NotNil(t, next)
	second, next := list(f.ctx, expenses.Filter{ActionCode: "4.4", Page: services.PageRequest{Limit: 2, After: next}})
	assert.Equal(t, []int64{ids[3]}, second)
	assert.Nil(t, next)

	_, err := f.svc.List(servicetest.As(auth.Principal{Subject: "a", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}),
		expenses.Filter{Page: services.PageRequest{Limit: 50}})
	assert.True(t, errors.Is(err, services.ErrForbidden))
	other, _ := list(servicetest.As(auth.Principal{Subject: "a33", Role: auth.RoleAdmin, Departement: "33"}), expenses.Filter{Page: services.PageRequest{Limit: 50}})
	assert.Empty(t, other, "another département's ledger")
}
