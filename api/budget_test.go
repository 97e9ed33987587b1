package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

type amounts struct {
	Budget           string `json:"budget"`
	StateShare       string `json:"state_share"`
	DepartementShare string `json:"departement_share"`
	Valuation        string `json:"valuation"`
	Carryover        string `json:"carryover"`
	OtherFunders     string `json:"other_funders"`
}

type annexe3Body struct {
	Year        int    `json:"year"`
	Departement string `json:"departement"`
	Actions     []struct {
		Code        string `json:"code"`
		Title       string `json:"title"`
		Category    string `json:"category"`
		FundingLine string `json:"funding_line"`
		amounts
	} `json:"actions"`
	FundingLines []struct {
		Chorus      string   `json:"chorus"`
		Prenotified string   `json:"prenotified"`
		Carryover   string   `json:"carryover"`
		Actions     []string `json:"actions"`
		Totals      amounts  `json:"totals"`
	} `json:"funding_lines"`
	Totals struct {
		amounts
		Prenotified string `json:"prenotified"`
	} `json:"totals"`
}

func TestAnnexe3ToTheCent(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := decode[annexe3Body](t, rec)
	assert.Equal(t, 2020, body.Year)
	assert.Equal(t, "47", body.Departement)
	require.Len(t, body.Actions, 14)
	assert.Equal(t, amounts{Budget: "1936652.00", StateShare: "650732.00", DepartementShare: "742977.00",
		Valuation: "0.00", Carryover: "542943.00", OtherFunders: "0.00"}, body.Totals.amounts)
	assert.Equal(t, "802232.79", body.Totals.Prenotified)

	var codes []string
	for _, a := range body.Actions {
		codes = append(codes, a.Code)
		if a.Code == "4.4" {
			assert.Equal(t, "socle", a.Category)
			assert.Equal(t, "0304 50 19 19 07", a.FundingLine)
			assert.Equal(t, amounts{Budget: "215000.00", StateShare: "15000.00", DepartementShare: "40000.00",
				Valuation: "0.00", Carryover: "160000.00", OtherFunders: "0.00"}, a.amounts)
		}
	}
	assert.Equal(t, []string{"1.1", "2.1", "2.2", "3.1", "4.1", "4.2", "4.3", "4.4", "4.5", "5", "6.1", "6.2", "6.3", "6.4"}, codes)
	for _, f := range body.FundingLines {
		if f.Chorus == "0304 50 19 19 10" {
			assert.Equal(t, []string{"6.1", "6.2", "6.3", "6.4"}, f.Actions)
			assert.Equal(t, "249339.36", f.Prenotified)
			assert.Equal(t, "222943.00", f.Totals.Carryover)
			assert.Equal(t, "249339.00", f.Totals.StateShare)
		}
	}
}

func TestAnnexe3ReadersAndErrors(t *testing.T) {
	h := newHarness(t)
	assert.Equal(t, http.StatusOK, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions", as: agent47}).Code)
	assert.Equal(t, http.StatusOK, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions", as: admin47}).Code)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions", as: partner47}), http.StatusForbidden)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions"}), http.StatusUnauthorized)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2031/actions", as: manager47}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions", as: admin33}), http.StatusNotFound)
	p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/twenty/actions", as: manager47}), http.StatusBadRequest)
	assert.Contains(t, fields(p), "year")
	p = problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions?format=pdf", as: manager47}), http.StatusBadRequest)
	assert.Contains(t, fields(p), "format")
}

func TestAnnexe3CSVAndXLSXCarryTheTotals(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions?format=csv", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "text/csv; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Header().Get("Content-Disposition"), `filename="annexe3-47-2020.csv"`)
	rows, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll()
	require.NoError(t, err)
	total := rows[len(rows)-1]
	assert.Equal(t, "TOTAUX FINANCIERS", total[0])
	assert.Equal(t, []string{"1936652.00", "802232.79", "650732.00", "742977.00", "0.00", "542943.00", "0.00"}, total[4:])

	rec = h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions?format=xlsx", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code)
	book, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	require.NoError(t, err)
	defer book.Close()
	sheetRows, err := book.GetRows("Annexe 3", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	last := sheetRows[len(sheetRows)-1]
	assert.Equal(t, "TOTAUX FINANCIERS", last[0])
	assert.Equal(t, []string{"1936652", "802232.79", "650732", "742977", "0", "542943", "0"}, last[4:], "numbers, the same totals as the CSV")
}

type actionBody struct {
	Code        string `json:"code"`
	Year        int    `json:"year"`
	Version     int    `json:"version"`
	Budget      string `json:"budget"`
	BudgetLines []struct {
		ID     int64  `json:"id"`
		Label  string `json:"label"`
		Amount string `json:"amount"`
	} `json:"budget_lines"`
	Indicators []struct {
		Code string `json:"code"`
	} `json:"indicators"`
	SheetTotal *struct {
		Amount string `json:"amount"`
	} `json:"sheet_total"`
}

func TestActionDetail(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.2?year=2020", as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
	a := decode[actionBody](t, rec)
	assert.Equal(t, "192746.00", a.Budget)
	require.Len(t, a.BudgetLines, 6)
	assert.Equal(t, "Soutien aux projets", a.BudgetLines[1].Label)
	assert.Equal(t, "23000.00", a.BudgetLines[1].Amount)
	require.NotNil(t, a.SheetTotal)
	assert.Equal(t, "207746.00", a.SheetTotal.Amount)
	var codes []string
	for _, i := range a.Indicators {
		codes = append(codes, i.Code)
	}
	assert.Subset(t, codes, []string{"4.2.first_appointments", "4.2.first_appointments_2_weeks", "4.2.first_contracts", "4.2.first_contracts_2_months"})

	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.2", as: agent47}), http.StatusBadRequest)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/actions/9.9?year=2020", as: agent47}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.2?year=2020", as: partner47}), http.StatusForbidden)
}

func TestBudgetWrites(t *testing.T) {
	h := newHarness(t)
	create := `{"code":"6.5","title":"Insertion par l'activité","category":"cil","funding_line":"0304 50 19 19 10","budget":"1000.00","state_share":"500","departement_share":"500.00"}`
	problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/conventions/2020/actions", as: manager47, body: create}), http.StatusForbidden)
	rec := h.do(request{method: http.MethodPost, path: "/api/v1/conventions/2020/actions", as: admin47, body: create})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Equal(t, "/api/v1/actions/6.5?year=2020", rec.Header().Get("Location"))
	assert.Equal(t, "500.00", decode[struct {
		StateShare string `json:"state_share"`
	}](t, rec).StateShare)
	problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/conventions/2020/actions", as: admin47, body: create}), http.StatusConflict)

	p := problem(t, h.do(request{method: http.MethodPatch, path: "/api/v1/actions/6.5?year=2020", as: admin47,
		headers: map[string]string{"If-Match": `"1"`}, body: `{"budget":"-5.00","carryover":"1.234","valuation":12,"title":null}`}), http.StatusUnprocessableEntity)
	assert.Equal(t, map[string]string{"valuation": "must be a string"}, fields(p), "a JSON number for money is refused")
	p = problem(t, h.do(request{method: http.MethodPatch, path: "/api/v1/actions/6.5?year=2020", as: admin47,
		headers: map[string]string{"If-Match": `"1"`}, body: `{"budget":"-5.00","carryover":"1.234","title":null}`}), http.StatusUnprocessableEntity)
	assert.Equal(t, map[string]string{"budget": "must not be negative", "carryover": "must have at most two decimals", "title": "must not be null"}, fields(p))
	problem(t, h.do(request{method: http.MethodPatch, path: "/api/v1/actions/6.5?year=2020", as: admin47, body: `{"budget":"5.00"}`}), http.StatusPreconditionRequired)

	rec = h.do(request{method: http.MethodPatch, path: "/api/v1/actions/6.5?year=2020", as: admin47,
		headers: map[string]string{"If-Match": `"1"`}, body: `{"budget":"1200.00","other_funders":"200.00"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	problem(t, h.do(request{method: http.MethodPatch, path: "/api/v1/actions/6.5?year=2020", as: admin47,
		headers: map[string]string{"If-Match": `"1"`}, body: `{"budget":"1.00"}`}), http.StatusPreconditionFailed)
	assert.Equal(t, "1200.00", decode[actionBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/actions/6.5?year=2020", as: admin47})).Budget)

	rec = h.do(request{method: http.MethodPost, path: "/api/v1/actions/6.5/budget-lines?year=2020", as: admin47,
		body: `{"label":"Chantiers","amount":"1000.00","state_share":"500.00","departement_share":"500.00"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	location := rec.Header().Get("Location")
	rec = h.do(request{method: http.MethodGet, path: location, as: manager47})
	require.Equal(t, http.StatusOK, rec.Code)
	rec = h.do(request{method: http.MethodPatch, path: location, as: admin47, headers: map[string]string{"If-Match": `"1"`},
		body: `{"amount":"1100.00"}`})
	p = problem(t, rec, http.StatusUnprocessableEntity)
	assert.Contains(t, fields(p)["amount"], "must equal state_share + departement_share + other_share")
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/budget-lines/999999", as: manager47}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/budget-lines/abc", as: manager47}), http.StatusNotFound)

	rec = h.do(request{method: http.MethodPost, path: "/api/v1/conventions/2020/funding-lines", as: admin47,
		body: `{"chorus":"0304 50 19 19 12","label":"Nouvelle","theme":"Thème","prenotified":"10.00"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	fl := rec.Header().Get("Location")
	rec = h.do(request{method: http.MethodPatch, path: fl, as: admin47, headers: map[string]string{"If-Match": `"1"`}, body: `{"carryover":"5.00"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "5.00", decode[struct {
		Carryover string `json:"carryover"`
	}](t, rec).Carryover)
	p = problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/conventions/2020/funding-lines", as: admin47,
		body: `{"chorus":"12","label":"","prenotified":"1.001"}`}), http.StatusUnprocessableEntity)
	assert.ElementsMatch(t, []string{"chorus", "label", "theme", "prenotified"}, keys(fields(p)))
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestIndicatorReportAndDefinitions(t *testing.T) {
	h := newHarness(t)
	type row struct {
		Code             string   `json:"code"`
		Action           string   `json:"action"`
		Target           *float64 `json:"target"`
		TargetComparator *string  `json:"target_comparator"`
		Value            *float64 `json:"value"`
	}
	type report struct {
		Year       int   `json:"year"`
		Indicators []row `json:"indicators"`
	}
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Len(t, decode[report](t, rec).Indicators, 77)

	rep := decode[report](t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020&action=3.1", as: agent47}))
	require.Len(t, rep.Indicators, 5)
	for _, r := range rep.Indicators {
		switch r.Code {
		case "3.1.new_entrants", "3.1.new_entrants_oriented_1_month":
			assert.NotNil(t, r.Value, "counted from case data: %s", r.Code)
		case "3.1.orientation_delay_days": // null until someone is oriented
		default:
			assert.Nil(t, r.Value, "no case data yet: %s", r.Code)
		}
		if r.Code == "3.1.orientation_delay_days" {
			require.NotNil(t, r.Target)
			assert.Equal(t, float64(60), *r.Target)
			assert.Equal(t, "lte", *r.TargetComparator)
		}
	}
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators", as: manager47}), http.StatusBadRequest)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020", as: partner47}), http.StatusForbidden)

	create := `{"code":"4.4.allocations_paid","action_code":"4.4","scope":"departmental","label":"Allocations versées","unit":"amount","method":"computed","targets":[{"year":2021,"value":200000,"comparator":"lte","note":""}]}`
	rec = h.do(request{method: http.MethodPost, path: "/api/v1/indicators", as: admin47, body: create})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = h.do(request{method: http.MethodPatch, path: "/api/v1/indicators/4.4.allocations_paid", as: admin47,
		headers: map[string]string{"If-Match": `"1"`}, body: `{"params":{"threshold_days":45},"targets":[{"year":2020,"value":1.5,"comparator":"gte","note":"test"}]}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decode[struct {
		Version int                `json:"version"`
		Params  map[string]float64 `json:"params"`
		Targets []struct {
			Year  int     `json:"year"`
			Value float64 `json:"value"`
		} `json:"targets"`
	}](t, rec)
	assert.Equal(t, 2, got.Version)
	assert.Equal(t, 45.0, got.Params["threshold_days"])
	require.Len(t, got.Targets, 1)
	assert.Equal(t, 1.5, got.Targets[0].Value)
	problem(t, h.do(request{method: http.MethodPatch, path: "/api/v1/indicators/4.4.allocations_paid", as: admin47,
		headers: map[string]string{"If-Match": `"2"`}, body: `{"code":"4.4.other"}`}), http.StatusUnprocessableEntity)
	problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/indicators", as: admin47, body: create}), http.StatusConflict)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/indicators/4.4.none", as: manager47}), http.StatusNotFound)
}

func TestCheckThe2020Document(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/check", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	type finding struct {
		Severity   string  `json:"severity"`
		Action     *string `json:"action"`
		Rule       string  `json:"rule"`
		Subject    string  `json:"subject"`
		Expected   *string `json:"expected"`
		Found      *string `json:"found"`
		Difference *string `json:"difference"`
		Message    string  `json:"message"`
	}
	body := decode[struct {
		Year     int       `json:"year"`
		Findings []finding `json:"findings"`
		Notes    []struct {
			Action *string `json:"action"`
			Rule   string  `json:"rule"`
		} `json:"notes"`
	}](t, rec)
	assert.Equal(t, 2020, body.Year)
	var got []string
	for _, f := range body.Findings {
		action := "-"
		if f.Action != nil {
			action = *f.Action
		}
		line := f.Severity + " " + action + " " + f.Rule
		if f.Difference != nil {
			line += " " + *f.Expected + "→" + *f.Found + " (" + *f.Difference + ")"
		}
		got = append(got, line)
		assert.NotEmpty(t, f.Message)
	}
	assert.Equal(t, []string{
		"warning 1.1 duplicate_label",
		"error 4.1 departement_split 98478.00→113478.00 (15000.00)",
		"error 4.1 state_split 88478.00→113478.00 (25000.00)",
		"error 4.2 annexe3_budget 192746.00→207746.00 (15000.00)",
		"error 4.2 departement_split 97356.00→112356.00 (15000.00)",
		"error 4.2 line_shares 10000.00→23000.00 (13000.00)",
		"error 4.2 lines_total 207746.00→220746.00 (13000.00)",
		"warning 6.3 duplicate_label",
		"warning - year_state_total_fiches 650732.00→675732.00 (25000.00)",
	}, got)
	var noted []string
	for _, n := range body.Notes {
		noted = append(noted, *n.Action)
		assert.Equal(t, "departement_includes_carryover", n.Rule)
	}
	assert.Equal(t, []string{"1.1", "3.1", "4.3", "4.4", "6.2"}, noted)

	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2020/check", as: partner47}), http.StatusForbidden)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/conventions/2031/check", as: manager47}), http.StatusNotFound)
}
