package expenses_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/expenses"
	"parcours/services/money"
	"parcours/services/servicetest"
)

func TestExportStreamsTheFilteredLedger(t *testing.T) {
	f := seeded(t)
	var listed []expenses.Expense
	for _, e := range []struct{ kind, action, amount, on string }{
		{expenses.KindCommitment, "4.4", "1000.00", "2020-01-15"}, {expenses.KindCommitment, "4.1", "20.00", "2020-02-15"},
		{expenses.KindPayment, "4.4", "250.50", "2020-03-15"}, {expenses.KindCommitment, "4.4", "40.00", "2020-04-15"},
	} {
		x, err := f.svc.Create(f.ctx, entry(e.kind, e.action, e.amount, e.on, t))
		require.NoError(t, err)
		listed = append(listed, x)
	}
	reversal, err := f.svc.Reverse(f.ctx, listed[2].ID, expenses.ReverseInput{})
	require.NoError(t, err)
	listed = append(listed, reversal)
	manager := servicetest.As(auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"})

	export := func(ctx context.Context, flt expenses.Filter) []expenses.Expense {
		t.Helper()
		var got []expenses.Expense
		n, err := f.svc.Export(ctx, flt, func(e expenses.Expense) error {
			got = append(got, e)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, int64(len(got)), n, "the count returned is the entries passed")
		return got
	}

	all := export(manager, expenses.Filter{})
	require.Len(t, all, len(listed))
	for i, e := range all {
		want := listed[i]
		assert.Equal(t, want.ID, e.ID)
		assert.Equal(t, want.ActionCode, e.ActionCode)
		assert.Equal(t, 2020, e.Year)
		assert.Equal(t, want.Kind, e.Kind)
		assert.Equal(t, money.String(want.Amount), money.String(e.Amount))
		assert.Equal(t, want.Date.Format("2006-01-02"), e.Date.Format("2006-01-02"))
		assert.Equal(t, want.Reference, e.Reference)
		assert.Equal(t, shares(want), shares(e))
		assert.Equal(t, want.ReversesID, e.ReversesID)
	}
	page, err := f.svc.List(manager, expenses.Filter{Page: services.PageRequest{Limit: 50}})
	require.NoError(t, err)
	assert.Equal(t, page.Items, all, "the export is the list, unpaginated")

	ids := func(entries []expenses.Expense) []int64 {
		var out []int64
		for _, e := range entries {
			out = append(out, e.ID)
		}
		return out
	}
	assert.Equal(t, []int64{listed[2].ID, listed[4].ID}, ids(export(f.ctx, expenses.Filter{ActionCode: "4.4", From: date(t, "2020-02-01"), To: date(t, "2020-03-31")})),
		"the filters of the list; the page is ignored")
	assert.Equal(t, ids(listed), ids(export(f.ctx, expenses.Filter{Page: services.PageRequest{Limit: 1}})), "no page")
	assert.Empty(t, export(servicetest.As(auth.Principal{Subject: "a33", Role: auth.RoleAdmin, Departement: "33"}), expenses.Filter{}),
		"another département's ledger")
}

func TestExportStopsOnTheCallersErrorAndRefusesOtherRoles(t *testing.T) {
	f := seeded(t)
	for _, on := range []string{"2020-01-15", "2020-02-15", "2020-03-15"} {
		_, err := f.svc.Create(f.ctx, entry(expenses.KindCommitment, "4.4", "10.00", on, t))
		require.NoError(t, err)
	}
	stop := errors.New("the client went away")
	calls := 0
	n, err := f.svc.Export(f.ctx, expenses.Filter{}, func(expenses.Expense) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, int64(1), n, "one entry passed before the failing one")
	assert.Equal(t, 2, calls, "nothing after the error")

	for _, p := range []auth.Principal{
		{Subject: "a", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}},
		{Subject: "pe", Role: auth.RolePartner, Departement: "47", Organisation: "1"},
	} {
		_, err := f.svc.Export(servicetest.As(p), expenses.Filter{}, func(expenses.Expense) error {
			t.Fatal("no entry for a refused caller")
			return nil
		})
		assert.ErrorIs(t, err, services.ErrForbidden, p.Role)
	}
}
