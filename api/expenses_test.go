package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
)

// expenseBody is a ledger entry as the API answers it.
type expenseBody struct {
	ID           int64   `json:"id"`
	ActionCode   string  `json:"action_code"`
	BudgetLineID *int64  `json:"budget_line_id"`
	Kind         string  `json:"kind"`
	Amount       string  `json:"amount"`
	Date         string  `json:"date"`
	Supplier     string  `json:"supplier"`
	Reference    string  `json:"reference"`
	Funder       *string `json:"funder"`
	Shares       struct {
		State       string `json:"state"`
		Departement string `json:"departement"`
		Carryover   string `json:"carryover"`
		Other       string `json:"other"`
	} `json:"shares"`
	ReversesID *int64 `json:"reverses_id"`
}

// shares lists the split of e, State first.
func (e expenseBody) shares() []string {
	return []string{e.Shares.State, e.Shares.Departement, e.Shares.Carryover, e.Shares.Other}
}

// addsUp reports whether the shares of e add up to its amount exactly.
func (e expenseBody) addsUp() bool {
	sum := decimal.Zero
	for _, s := range e.shares() {
		sum = sum.Add(decimal.RequireFromString(s))
	}
	return sum.Equal(decimal.RequireFromString(e.Amount))
}

// budgetLine is the id of the 2020 budget line of fiche code whose label starts with label.
func (h *harness) budgetLine(code, label string) int64 {
	h.t.Helper()
	var id int64
	require.NoError(h.t, h.db.Raw(`SELECT l.id FROM budget_lines l JOIN actions a ON a.id = l.action_id
		WHERE a.departement = '47' AND a.year = 2020 AND a.code = ? AND l.label LIKE ?`, code, label+"%").Row().Scan(&id))
	return id
}

// ledgerCounts are the ledger and audit rows, to prove a refusal wrote nothing.
func (h *harness) ledgerCounts() [2]int64 {
	h.t.Helper()
	var out [2]int64
	require.NoError(h.t, h.db.Table("expenses").Count(&out[0]).Error)
	require.NoError(h.t, h.db.Table("audit_events").Count(&out[1]).Error)
	return out
}

// postExpense records an entry as admin47 and returns it; body is the request's JSON.
func (h *harness) postExpense(body string) expenseBody {
	h.t.Helper()
	rec := h.do(request{method: http.MethodPost, path: "/api/v1/expenses", as: admin47, body: body})
	require.Equal(h.t, http.StatusCreated, rec.Code, rec.Body.String())
	e := decode[expenseBody](h.t, rec)
	assert.True(h.t, e.addsUp(), "the shares of %s add up to it: %v", e.Amount, e.shares())
	return e
}

// reverse reverses entry id as admin47 and returns the reversing entry.
func (h *harness) reverse(id int64, body string) expenseBody {
	h.t.Helper()
	rec := h.do(request{method: http.MethodPost, path: fmt.Sprintf("/api/v1/expenses/%d/reverse", id), as: admin47, body: body})
	require.Equal(h.t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[expenseBody](h.t, rec)
}

func entryJSON(action, kind, amount, date, extra string) string {
	return fmt.Sprintf(`{"action_code":%q,"kind":%q,"amount":%q,"date":%q,"supplier":"Solincité","reference":"ENG-1"%s}`, action, kind, amount, date, extra)
}

func TestExpenseLedgerThroughTheAPI(t *testing.T) {
	h := newHarness(t)
	referent := h.budgetLine("4.4", "Référent de parcours")

	rec := h.do(request{method: http.MethodPost, path: "/api/v1/expenses", as: admin47,
		body: entryJSON("4.4", "commitment", "1000.00", "2020-05-04", `,"budget_line_id":null,"funder":null`)})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"action_code", "amount", "budget_line_id", "date", "funder", "id", "kind", "reference", "reverses_id", "shares", "supplier"}, keys)
	commitment := decode[expenseBody](t, rec)
	assert.Equal(t, []string{"69.77", "186.05", "744.18", "0.00"}, commitment.shares(), "the Annexe 3 proportions of 4.4, largest remainder")
	assert.Nil(t, commitment.Funder)
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))

	onLine := h.postExpense(entryJSON("4.4", "commitment", "300.00", "2020-05-05", fmt.Sprintf(`,"budget_line_id":%d`, referent)))
	assert.Equal(t, []string{"300.00", "0.00", "0.00", "0.00"}, onLine.shares(), "the line is all State")
	assert.Equal(t, &referent, onLine.BudgetLineID)
	named := h.postExpense(entryJSON("4.4", "commitment", "99.99", "2020-05-06", `,"funder":"other"`))
	assert.Equal(t, []string{"0.00", "0.00", "0.00", "99.99"}, named.shares())
	assert.Equal(t, "other", *named.Funder)
	payment := h.postExpense(entryJSON("4.4", "payment", "250.00", "2020-06-30", fmt.Sprintf(`,"budget_line_id":%d`, referent)))

	// Refusals answer their status and write nothing.
	before := h.ledgerCounts()
	for _, tt := range []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"beyond the line's commitments", entryJSON("4.4", "payment", "50.01", "2020-07-01", fmt.Sprintf(`,"budget_line_id":%d`, referent)), 422, "amount"},
		{"beyond the fiche's commitments", entryJSON("4.4", "payment", "1150.00", "2020-07-01", ""), 422, "amount"},
		{"a line of another fiche", entryJSON("3.1", "commitment", "1.00", "2020-07-01", fmt.Sprintf(`,"budget_line_id":%d`, referent)), 422, "budget_line_id"},
		{"no such fiche that year", entryJSON("4.4", "commitment", "1.00", "2019-07-01", ""), 422, "action_code"},
		{"an amount as a number", `{"action_code":"4.4","kind":"commitment","amount":1000,"date":"2020-07-01","supplier":"s","reference":"r"}`, 422, "amount"},
		{"zero", entryJSON("4.4", "commitment", "0.00", "2020-07-01", ""), 422, "amount"},
		{"negative", entryJSON("4.4", "commitment", "-5.00", "2020-07-01", ""), 422, "amount"},
		{"an unknown kind", entryJSON("4.4", "invoice", "5.00", "2020-07-01", ""), 422, "kind"},
		{"an unknown funder", entryJSON("4.4", "commitment", "5.00", "2020-07-01", `,"funder":"region"`), 422, "funder"},
		{"an unknown field", entryJSON("4.4", "commitment", "5.00", "2020-07-01", `,"vat":"1.00"`), 422, "vat"},
		{"missing fields", `{"kind":"payment"}`, 422, "action_code"},
		{"malformed JSON", `{"kind":`, 400, ""},
	} {
		p := problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/expenses", as: admin47, body: tt.body}), tt.status)
		if tt.field != "" {
			assert.Contains(t, fields(p), tt.field, tt.name)
		}
	}
	assert.Equal(t, before, h.ledgerCounts(), "refusals write nothing")

	// A reversal negates the entry; none of a reversal, nor a second one.
	reversal := h.reverse(payment.ID, `{"date":"2020-07-02","reference":"ANNUL-1"}`)
	assert.Equal(t, "-250.00", reversal.Amount)
	assert.Equal(t, []string{"-250.00", "0.00", "0.00", "0.00"}, reversal.shares())
	assert.Equal(t, &payment.ID, reversal.ReversesID)
	assert.Equal(t, "2020-07-02", reversal.Date)
	assert.Equal(t, "ANNUL-1", reversal.Reference)
	assert.True(t, reversal.addsUp())
	before = h.ledgerCounts()
	reversePath := func(id int64) string { return "/api/v1/expenses/" + strconv.FormatInt(id, 10) + "/reverse" }
	problem(t, h.do(request{method: http.MethodPost, path: reversePath(payment.ID), as: admin47, body: `{}`}), http.StatusConflict)
	problem(t, h.do(request{method: http.MethodPost, path: reversePath(reversal.ID), as: admin47, body: `{}`}), http.StatusConflict)
	problem(t, h.do(request{method: http.MethodPost, path: reversePath(999999), as: admin47, body: `{}`}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/expenses/x/reverse", as: admin47, body: `{}`}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodPost, path: reversePath(commitment.ID), as: admin33, body: `{}`}), http.StatusNotFound)
	p := problem(t, h.do(request{method: http.MethodPost, path: reversePath(commitment.ID), as: admin47, body: `{"date":"2020-05-01"}`}), http.StatusUnprocessableEntity)
	assert.Contains(t, fields(p), "date", "before the reversed entry")
	assert.Equal(t, before, h.ledgerCounts(), "refusals write nothing")
	undone := h.reverse(commitment.ID, `{}`)
	assert.Equal(t, "2020-05-04", undone.Date, "the reversed entry's date by default")
	assert.Equal(t, []string{"-69.77", "-186.05", "-744.18", "0.00"}, undone.shares())

	// The list, by id, with its filters.
	ids := func(query string, as auth.Principal) []int64 {
		t.Helper()
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/expenses" + query, as: as})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var out []int64
		for _, e := range decode[struct {
			Items []expenseBody `json:"items"`
		}](t, rec).Items {
			out = append(out, e.ID)
		}
		return out
	}
	all := []int64{commitment.ID, onLine.ID, named.ID, payment.ID, reversal.ID, undone.ID}
	assert.Equal(t, all, ids("", manager47))
	assert.Equal(t, []int64{payment.ID, reversal.ID}, ids("?action=4.4&from=2020-06-01&to=2020-07-31", admin47))
	assert.Empty(t, ids("?action=3.1", admin47))
	assert.Empty(t, ids("", admin33), "another département's ledger")
	page := decode[struct {
		Items      []expenseBody `json:"items"`
		NextCursor *string       `json:"next_cursor"`
	}](t, h.do(request{method: http.MethodGet, path: "/api/v1/expenses?limit=4", as: admin47}))
	require.Len(t, page.Items, 4)
	require.NotNil(t, page.NextCursor)
	assert.Equal(t, all[4:], ids("?limit=4&cursor="+*page.NextCursor, admin47))
	for _, bad := range []string{"?from=2020-13-01", "?to=x", "?from=2020-06-01&to=2020-05-01", "?limit=0", "?cursor=%21"} {
		problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/expenses" + bad, as: admin47}), http.StatusBadRequest)
	}
}

func TestExpenseRoutesByRole(t *testing.T) {
	h := newHarness(t)
	body := entryJSON("4.4", "commitment", "10.00", "2020-05-04", "")
	for _, who := range []auth.Principal{manager47, agent47, partner47} {
		problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/expenses", as: who, body: body}), http.StatusForbidden)
		problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/expenses/1/reverse", as: who, body: `{}`}), http.StatusForbidden)
	}
	for _, who := range []auth.Principal{agent47, partner47} {
		problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/expenses", as: who}), http.StatusForbidden)
	}
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/expenses", as: auth.Principal{}}), http.StatusUnauthorized)
	p := problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/expenses", as: admin33, body: body}), http.StatusUnprocessableEntity)
	assert.Contains(t, fields(p), "action_code", "Gironde has no fiche 4.4")
	assert.Zero(t, h.ledgerCounts()[0], "nothing recorded")
}
