package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
)

var ledgerCSVHeader = []string{"id", "action_code", "budget_line_id", "kind", "amount", "date", "supplier", "reference",
	"funder", "state_share", "departement_share", "carryover_share", "other_share", "reverses_id"}

// ledgerCSV downloads the ledger export with query as who, checks the download's headers and
// returns its rows, header included.
func (h *harness) ledgerCSV(query string, who auth.Principal) [][]string {
	h.t.Helper()
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/expenses?format=csv" + query, as: who})
	require.Equal(h.t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(h.t, "text/csv; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(h.t, `attachment; filename="ecritures-`+who.Departement+`.csv"`, rec.Header().Get("Content-Disposition"))
	assert.False(h.t, bytes.HasPrefix(rec.Body.Bytes(), []byte("\xef\xbb\xbf")), "no byte-order mark")
	rows, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll() // also checks every row has the header's width
	require.NoError(h.t, err)
	require.NotEmpty(h.t, rows)
	assert.Equal(h.t, ledgerCSVHeader, rows[0])
	return rows
}

func TestExpenseLedgerCSVExport(t *testing.T) {
	h := newHarness(t)
	line := h.budgetLine("4.4", "Référent de parcours")
	split := h.postExpense(entryJSON("4.4", "commitment", "1000.00", "2020-05-04", ""))
	onLine := h.postExpense(`{"action_code":"4.4","budget_line_id":` + strconv.FormatInt(line, 10) +
		`,"kind":"commitment","amount":"300.00","date":"2020-05-05","supplier":"SARL Dupont, Fils & Cie","reference":"ENG \"2\""}`)
	paid := h.postExpense(entryJSON("4.4", "payment", "250.50", "2020-06-10", `,"funder":"state"`))
	other := h.postExpense(entryJSON("4.1", "commitment", "20.00", "2020-07-01", ""))
	reversal := h.reverse(paid.ID, `{"date":"2020-07-02","reference":"ANNUL-1"}`)
	id := func(e expenseBody) string { return strconv.FormatInt(e.ID, 10) }

	rows := h.ledgerCSV("", manager47)
	assert.Equal(t, [][]string{
		ledgerCSVHeader,
		{id(split), "4.4", "", "commitment", "1000.00", "2020-05-04", "Solincité", "ENG-1", "", "69.77", "186.05", "744.18", "0.00", ""},
		{id(onLine), "4.4", strconv.FormatInt(line, 10), "commitment", "300.00", "2020-05-05", "SARL Dupont, Fils & Cie", `ENG "2"`, "", "300.00", "0.00", "0.00", "0.00", ""},
		{id(paid), "4.4", "", "payment", "250.50", "2020-06-10", "Solincité", "ENG-1", "state", "250.50", "0.00", "0.00", "0.00", ""},
		{id(other), "4.1", "", "commitment", "20.00", "2020-07-01", "Solincité", "ENG-1", "", other.Shares.State, other.Shares.Departement, other.Shares.Carryover, other.Shares.Other, ""},
		{id(reversal), "4.4", "", "payment", "-250.50", "2020-07-02", "Solincité", "ANNUL-1", "state", "-250.50", "0.00", "0.00", "0.00", id(paid)},
	}, rows, "every entry by id; money to the cent, ISO dates, quoted fields, empty fields for nulls")

	// The JSON list's filters, the same entries as the JSON list answers.
	ids := func(rows [][]string) []string {
		var out []string
		for _, r := range rows[1:] {
			out = append(out, r[0])
		}
		return out
	}
	assert.Equal(t, []string{id(paid), id(reversal)}, ids(h.ledgerCSV("&action=4.4&from=2020-06-01&to=2020-07-31", admin47)))
	assert.Equal(t, []string{id(other)}, ids(h.ledgerCSV("&action=4.1", admin47)))
	assert.Empty(t, ids(h.ledgerCSV("&action=3.1", admin47)), "no entry: the header row alone")
	assert.Empty(t, ids(h.ledgerCSV("", admin33)), "another département's ledger is not there")
	json := decode[struct {
		Items []expenseBody `json:"items"`
	}](t, h.do(request{method: http.MethodGet, path: "/api/v1/expenses?format=json&limit=500", as: admin47}))
	require.Len(t, json.Items, len(rows)-1)
	for i, e := range json.Items {
		assert.Equal(t, []string{id(e), e.Amount, e.Date}, []string{rows[i+1][0], rows[i+1][4], rows[i+1][5]})
	}
}

func TestExpenseLedgerCSVRefusals(t *testing.T) {
	h := newHarness(t)
	h.postExpense(entryJSON("4.4", "commitment", "1000.00", "2020-05-04", ""))
	_, auditBefore := h.counts()
	for _, tt := range []struct {
		query string
		field string
	}{
		{"?format=xlsx", "format"},
		{"?format=CSV", "format"},
		{"?format=csv&limit=10", "limit"},
		{"?format=csv&cursor=abc", "cursor"},
		{"?format=csv&from=2020-13-01", "from"},
		{"?format=csv&from=2020-06-01&to=2020-05-01", "to"},
	} {
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/expenses" + tt.query, as: admin47})
		p := problem(t, rec, http.StatusBadRequest)
		assert.Contains(t, fields(p), tt.field, tt.query)
		assert.Empty(t, rec.Header().Get("Content-Disposition"), "a problem is no download")
	}
	for _, who := range []auth.Principal{agent47, partner47} {
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/expenses?format=csv", as: who})
		problem(t, rec, http.StatusForbidden)
		assert.Empty(t, rec.Header().Get("Content-Disposition"))
	}
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/expenses?format=csv", as: auth.Principal{}}), http.StatusUnauthorized)
	h.ledgerCSV("", admin47)
	_, auditAfter := h.counts()
	assert.Equal(t, auditBefore, auditAfter, "the ledger is not nominative: exporting it is not audited")
}
