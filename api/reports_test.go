package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"parcours/services/accruals/accompanimenttest"
	"parcours/services/auth"
	"parcours/services/cumul"
)

// spendFigures are the figures of a spend row as the API answers them.
type spendFigures struct {
	Budget           string   `json:"budget"`
	StateShare       string   `json:"state_share"`
	DepartementShare string   `json:"departement_share"`
	Carryover        string   `json:"carryover"`
	OtherFunders     string   `json:"other_funders"`
	Committed        string   `json:"committed"`
	Paid             string   `json:"paid"`
	Accrued          string   `json:"accrued"`
	Consumed         string   `json:"consumed"`
	Remaining        string   `json:"remaining"`
	StateConsumed    string   `json:"state_consumed"`
	ExecutionRate    string   `json:"execution_rate"`
	ProjectedYearEnd string   `json:"projected_year_end"`
	Flags            []string `json:"flags"`
}

type spendReportBody struct {
	Year    int    `json:"year"`
	AsOf    string `json:"as_of"`
	Actions []struct {
		Code        string `json:"code"`
		Title       string `json:"title"`
		FundingLine string `json:"funding_line"`
		spendFigures
	} `json:"actions"`
	FundingLines []struct {
		Chorus string `json:"chorus"`
		spendFigures
	} `json:"funding_lines"`
	Totals spendFigures `json:"totals"`
}

func (s spendReportBody) actions() map[string]spendFigures {
	out := map[string]spendFigures{}
	for _, a := range s.Actions {
		out[a.Code] = a.spendFigures
	}
	return out
}

func (s spendReportBody) lines() map[string]spendFigures {
	out := map[string]spendFigures{}
	for _, f := range s.FundingLines {
		out[f.Chorus] = f.spendFigures
	}
	return out
}

// untouched is a row where nothing was committed, paid or accrued: its budget remains, and it
// is at risk of underspending unless it has no budget.
func untouched(budget, state, departement, carryover string) spendFigures {
	f := spendFigures{Budget: budget, StateShare: state, DepartementShare: departement, Carryover: carryover, OtherFunders: "0.00",
		Committed: "0.00", Paid: "0.00", Accrued: "0.00", Consumed: "0.00", Remaining: budget, StateConsumed: "0.00",
		ExecutionRate: "0.0000", ProjectedYearEnd: "0.00", Flags: []string{"underspend_risk"}}
	if budget == "0.00" {
		f.Flags = []string{}
	}
	return f
}

// programmeAndProvider are the ids of demo programme code and of an organisation providing it.
func (h *harness) programmeAndProvider(code string) (programme, org int64) {
	h.t.Helper()
	require.NoError(h.t, h.db.Raw(`SELECT p.id, min(po.organisation_id) FROM programmes p
		JOIN programme_organisations po ON po.programme_id = p.id WHERE p.departement = '47' AND p.code = ? GROUP BY p.id`, code).
		Row().Scan(&programme, &org))
	return programme, org
}

// spendScenario records, on the demo data of 2020:
//
//   - fiche 4.4 (215 000: State 15 000, CD 40 000, carry-over 160 000): 9 000.00 committed on
//     the line "Référent de parcours" (all State) and 1 000.00 without a line (69.77 /
//     186.05 / 744.18 / 0.00); paid on that line 3 000.00 in June, 500.00 in July reversed
//     five days later, 1 000.00 in October (after 30 September); 400.00 without a line in
//     August (27.91 / 74.42 / 297.67 / 0.00); and two cumul allocations, 300.00 for April and
//     564.78 for July, on its line "Financement de l'allocation";
//   - fiche 3.1 (133 700: 25 000 / 33 700 / 75 000): 12 000.00 committed to the département,
//     5 000.00 paid without a funder (934.93 / 1 260.28 / 2 804.79 / 0.00);
//   - fiche 1.1: a PAAJM enrolment from 15 June 2020 (600 € a month: 320.00 for 16 days of
//     June, then 600.00 a month) with a diagnostic interview (250.00): 2 370.00 by 30 September;
//   - fiche 6.2: 100.00 committed on 30 September, and a driving-licence aid enrolment
//     (1 000.00 on 1 September).
func spendScenario(h *harness) {
	referent := h.budgetLine("4.4", "Référent de parcours")
	line := fmt.Sprintf(`,"budget_line_id":%d`, referent)
	h.postExpense(entryJSON("4.4", "commitment", "9000.00", "2020-04-01", line))
	assert.Equal(h.t, []string{"69.77", "186.05", "744.18", "0.00"}, h.postExpense(entryJSON("4.4", "commitment", "1000.00", "2020-05-04", "")).shares())
	assert.Equal(h.t, []string{"3000.00", "0.00", "0.00", "0.00"}, h.postExpense(entryJSON("4.4", "payment", "3000.00", "2020-06-30", line)).shares())
	wrong := h.postExpense(entryJSON("4.4", "payment", "500.00", "2020-07-15", line))
	assert.Equal(h.t, []string{"-500.00", "0.00", "0.00", "0.00"}, h.reverse(wrong.ID, `{"date":"2020-07-20"}`).shares())
	assert.Equal(h.t, []string{"27.91", "74.42", "297.67", "0.00"}, h.postExpense(entryJSON("4.4", "payment", "400.00", "2020-08-03", "")).shares())
	h.postExpense(entryJSON("4.4", "payment", "1000.00", "2020-10-05", line))
	h.postExpense(entryJSON("3.1", "commitment", "12000.00", "2020-02-14", `,"funder":"departement"`))
	assert.Equal(h.t, []string{"934.93", "1260.28", "2804.79", "0.00"}, h.postExpense(entryJSON("3.1", "payment", "5000.00", "2020-03-31", "")).shares())
	h.postExpense(entryJSON("6.2", "commitment", "100.00", "2020-09-30", ""))

	fx := accompanimenttest.New(h.t, h.db, "47")
	paajm, solincite := h.programmeAndProvider("paajm")
	person, enrolment := fx.Enrol(accompanimenttest.Journey{Territory: "47-AGEN1",
		Enrolment: accompanimenttest.Enrolment{Programme: paajm, Organisation: solincite, StartedOn: "2020-06-15"}})
	fx.Event(enrolment, "diagnostic_interview", "2020-06-20")
	permis, dasi := h.programmeAndProvider("aide_permis")
	fx.Enrol(accompanimenttest.Journey{Territory: "47-AGEN1",
		Enrolment: accompanimenttest.Enrolment{Programme: permis, Organisation: dasi, StartedOn: "2020-09-01"}})

	ctx := auth.WithPrincipal(context.Background(), admin47)
	svc := cumul.New(h.db)
	day := func(s string) *time.Time {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(h.t, err)
		return &d
	}
	amount := func(s string) *decimal.Decimal { d := decimal.RequireFromString(s); return &d }
	text := func(s string) *string { return &s }
	agreement, err := svc.CreateAgreement(ctx, cumul.AgreementInput{BeneficiaryID: &person, Employer: text("EARL des Vergers"),
		SIRET: text("73282932000074"), Sector: text("agriculture"), ContractType: text("seasonal"),
		StartsOn: day("2020-04-01"), EndsOn: day("2020-09-30"), Hours: amount("35")})
	require.NoError(h.t, err)
	for _, a := range []struct{ month, wages, rsa, want string }{{"2020-04-01", "300.00", "500.00", "300.00"}, {"2020-07-01", "650.00", "564.78", "564.78"}} {
		got, err := svc.Allocate(ctx, agreement.ID, cumul.AllocationInput{Month: day(a.month), Wages: amount(a.wages), RSAWithoutWages: amount(a.rsa)})
		require.NoError(h.t, err)
		require.Equal(h.t, a.want, got.Amount.StringFixed(2))
	}
}

// The done-when scenario of the spend report: every figure of every fiche, funding line and
// the totals, to the cent, as of 30 September 2020 (274 days of a 366-day year); then the
// XLSX and the CSV carry the same figures.
func TestSpendReportScenario(t *testing.T) {
	h := newHarness(t)
	spendScenario(h)
	_, audited := h.counts()

	rec := h.do(request{method: http.MethodGet, path: "/api/v1/reports/spend?year=2020&as_of=2020-09-30", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rep := decode[spendReportBody](t, rec)
	assert.Equal(t, 2020, rep.Year)
	assert.Equal(t, "2020-09-30", rep.AsOf)
	require.Len(t, rep.Actions, 14)

	want := map[string]spendFigures{
		// Paid 3 000 + 500 − 500 + 400 (the October payment comes after as_of); accrued: the
		// cumul allocations 300.00 + 564.78. State: 3 000 + 27.91 of the payments, 60.33 of the
		// accruals (864.78 in the fiche's proportions). 4 264.78 × 366 ÷ 274 = 5 696.75.
		"4.4": {Budget: "215000.00", StateShare: "15000.00", DepartementShare: "40000.00", Carryover: "160000.00", OtherFunders: "0.00",
			Committed: "10000.00", Paid: "3400.00", Accrued: "864.78", Consumed: "4264.78", Remaining: "210735.22", StateConsumed: "3088.24",
			ExecutionRate: "0.0198", ProjectedYearEnd: "5696.75", Flags: []string{"underspend_risk"}},
		"3.1": {Budget: "133700.00", StateShare: "25000.00", DepartementShare: "33700.00", Carryover: "75000.00", OtherFunders: "0.00",
			Committed: "12000.00", Paid: "5000.00", Accrued: "0.00", Consumed: "5000.00", Remaining: "128700.00", StateConsumed: "934.93",
			ExecutionRate: "0.0374", ProjectedYearEnd: "6678.83", Flags: []string{"underspend_risk"}},
		// 320.00 + 3 × 600.00 + 250.00; State: 946.61 of 2 370.00 in 67 900 / 77 100 / 25 000.
		"1.1": {Budget: "170000.00", StateShare: "67900.00", DepartementShare: "77100.00", Carryover: "25000.00", OtherFunders: "0.00",
			Committed: "0.00", Paid: "0.00", Accrued: "2370.00", Consumed: "2370.00", Remaining: "167630.00", StateConsumed: "946.61",
			ExecutionRate: "0.0139", ProjectedYearEnd: "3165.77", Flags: []string{"underspend_risk"}},
		"6.2": {Budget: "469000.00", StateShare: "106339.00", DepartementShare: "139718.00", Carryover: "222943.00", OtherFunders: "0.00",
			Committed: "100.00", Paid: "0.00", Accrued: "1000.00", Consumed: "1000.00", Remaining: "468000.00", StateConsumed: "226.73",
			ExecutionRate: "0.0021", ProjectedYearEnd: "1335.77", Flags: []string{"underspend_risk"}},
		"2.1": untouched("70000.00", "35000.00", "35000.00", "0.00"),
		"2.2": untouched("5000.00", "2500.00", "2500.00", "0.00"),
		"4.1": untouched("226956.00", "88478.00", "98478.00", "40000.00"),
		"4.2": untouched("192746.00", "95390.00", "97356.00", "0.00"),
		"4.3": untouched("46000.00", "10000.00", "16000.00", "20000.00"),
		"4.5": untouched("82250.00", "41125.00", "41125.00", "0.00"),
		"5":   untouched("42000.00", "21000.00", "21000.00", "0.00"),
		"6.1": untouched("136000.00", "68000.00", "68000.00", "0.00"),
		"6.3": untouched("148000.00", "75000.00", "73000.00", "0.00"),
		"6.4": untouched("0.00", "0.00", "0.00", "0.00"),
	}
	assert.Equal(t, want, rep.actions())

	assert.Equal(t, map[string]spendFigures{
		"0304 50 19 19 07": {Budget: "896652.00", StateShare: "274993.00", DepartementShare: "326659.00", Carryover: "295000.00", OtherFunders: "0.00",
			Committed: "22000.00", Paid: "8400.00", Accrued: "864.78", Consumed: "9264.78", Remaining: "887387.22", StateConsumed: "4023.17",
			ExecutionRate: "0.0103", ProjectedYearEnd: "12375.58", Flags: []string{"underspend_risk"}},
		"0304 50 19 19 01": want["1.1"],
		"0304 50 19 19 10": {Budget: "753000.00", StateShare: "249339.00", DepartementShare: "280718.00", Carryover: "222943.00", OtherFunders: "0.00",
			Committed: "100.00", Paid: "0.00", Accrued: "1000.00", Consumed: "1000.00", Remaining: "752000.00", StateConsumed: "226.73",
			ExecutionRate: "0.0013", ProjectedYearEnd: "1335.77", Flags: []string{"underspend_risk"}},
		"0304 50 19 19 03": want["2.1"],
		"0304 50 19 19 04": want["2.2"],
		"0304 50 19 19 02": want["5"],
		"0304 50 19 19 11": untouched("0.00", "0.00", "0.00", "0.00"),
	}, rep.lines())
	assert.Equal(t, spendFigures{Budget: "1936652.00", StateShare: "650732.00", DepartementShare: "742977.00", Carryover: "542943.00", OtherFunders: "0.00",
		Committed: "22100.00", Paid: "8400.00", Accrued: "4234.78", Consumed: "12634.78", Remaining: "1924017.22", StateConsumed: "5196.51",
		ExecutionRate: "0.0065", ProjectedYearEnd: "16877.11", Flags: []string{"underspend_risk"}}, rep.Totals)

	// The workbook carries the same figures: the spend sheet's fiche rows and grand total.
	rec = h.do(request{method: http.MethodGet, path: "/api/v1/reports/spend?year=2020&as_of=2020-09-30&format=xlsx", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `attachment; filename="suivi-47-2020.xlsx"`, rec.Header().Get("Content-Disposition"))
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, []string{"Dépenses", "Indicateurs"}, f.GetSheetList())
	rows, err := f.GetRows("Dépenses", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	sheet := map[string][]string{}
	for _, r := range rows[2:] {
		key := r[2]
		if r[0] == "TOTAUX FINANCIERS" {
			key = "total"
		}
		if key != "" {
			sheet[key] = r
		}
	}
	assertSheetRow(t, rep.Totals, sheet["total"])
	for code, figures := range rep.actions() {
		assertSheetRow(t, figures, sheet[code])
	}
	indicators, err := f.GetRows("Indicateurs")
	require.NoError(t, err)
	assert.Len(t, indicators, 2+len(decode[indicatorReportBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020", as: manager47})).Indicators))

	// And the CSV, the same table.
	rec = h.do(request{method: http.MethodGet, path: "/api/v1/reports/spend?year=2020&as_of=2020-09-30&format=csv", as: admin47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "text/csv; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, `attachment; filename="depenses-47-2020.csv"`, rec.Header().Get("Content-Disposition"))
	records, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll()
	require.NoError(t, err)
	last := records[len(records)-1]
	assert.Equal(t, []string{"TOTAUX FINANCIERS", "", "", "", "1936652.00", "650732.00", "742977.00", "542943.00", "0.00", "22100.00", "8400.00",
		"4234.78", "12634.78", "1924017.22", "5196.51", "0.0065", "16877.11", "risque de sous-consommation"}, last)

	// By default, a past year runs to 31 December: the October payment and three more months
	// of PAAJM count.
	year := decode[spendReportBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/spend?year=2020", as: admin47}))
	assert.Equal(t, "2020-12-31", year.AsOf)
	assert.Equal(t, "4400.00", year.actions()["4.4"].Paid)
	assert.Equal(t, "4170.00", year.actions()["1.1"].Accrued)
	assert.Equal(t, year.actions()["4.4"].Consumed, year.actions()["4.4"].ProjectedYearEnd, "nothing left to project")

	_, after := h.counts()
	assert.Equal(t, audited, after, "reports are aggregates: nothing audited")
}

// assertSheetRow compares a row of the spend sheet (columns E to Q) with the JSON figures.
func assertSheetRow(t *testing.T, want spendFigures, row []string) {
	t.Helper()
	require.GreaterOrEqual(t, len(row), 17, "%v", row)
	for i, w := range []string{want.Budget, want.StateShare, want.DepartementShare, want.Carryover, want.OtherFunders, want.Committed,
		want.Paid, want.Accrued, want.Consumed, want.Remaining, want.StateConsumed, want.ExecutionRate, want.ProjectedYearEnd} {
		got, err := decimal.NewFromString(row[4+i])
		require.NoError(t, err, "column %d holds %q", 4+i, row[4+i])
		assert.True(t, decimal.RequireFromString(w).Equal(got), "column %d of %v: want %s, got %s", 4+i, row[:4], w, row[4+i])
	}
}

func TestSpendReportAccessAndParameters(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		name   string
		query  string
		as     auth.Principal
		status int
		field  string
	}{
		{"no token", "?year=2020", auth.Principal{}, http.StatusUnauthorized, ""},
		{"agent", "?year=2020", agent47, http.StatusForbidden, ""},
		{"partner", "?year=2020", partner47, http.StatusForbidden, ""},
		{"no year", "", manager47, http.StatusBadRequest, "year"},
		{"as_of of another year", "?year=2020&as_of=2021-01-01", manager47, http.StatusBadRequest, "as_of"},
		{"as_of malformed", "?year=2020&as_of=30/09/2020", manager47, http.StatusBadRequest, "as_of"},
		{"an unknown format", "?year=2020&format=pdf", manager47, http.StatusBadRequest, "format"},
		{"a year without convention", "?year=2030", admin47, http.StatusNotFound, ""},
		{"another département", "?year=2020", admin33, http.StatusNotFound, ""},
	} {
		p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/spend" + tt.query, as: tt.as}), tt.status)
		if tt.field != "" {
			assert.Contains(t, fields(p), tt.field, tt.name)
		}
	}
	rep := decode[spendReportBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/spend?year=2020&as_of=2020-01-01", as: manager47}))
	assert.Equal(t, "0.00", rep.Totals.Consumed)
	assert.Equal(t, "1936652.00", rep.Totals.Remaining)
}

// indicatorReportBody is the indicator report as the API answers it.
type indicatorReportBody struct {
	Year       int                `json:"year"`
	Territory  *string            `json:"territory"`
	Indicators []indicatorRowBody `json:"indicators"`
}

type indicatorRowBody struct {
	Code     string   `json:"code"`
	Method   string   `json:"method"`
	Target   *float64 `json:"target"`
	Value    *float64 `json:"value"`
	Status   string   `json:"status"`
	Declared []struct {
		Period    string  `json:"period"`
		Territory *string `json:"territory"`
		Value     float64 `json:"value"`
		Source    string  `json:"source"`
	} `json:"declared"`
}

// rows indexes the rows of a report by code.
func (r indicatorReportBody) rows() map[string]indicatorRowBody {
	out := map[string]indicatorRowBody{}
	for _, row := range r.Indicators {
		out[row.Code] = row
	}
	return out
}

func TestDeclaredIndicatorsThroughTheAPI(t *testing.T) {
	h := newHarness(t)
	declare := func(code string, as auth.Principal, body string) *httptest.ResponseRecorder {
		return h.do(request{method: http.MethodPost, path: "/api/v1/indicators/" + code + "/values", as: as, body: body})
	}
	rec := declare("3.1.platform_territories", admin47, `{"period":"2020","value":2,"source":"COPIL","comment":"Agen et Marmande"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var declared map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &declared))
	assert.Positive(t, declared["id"])
	assert.NotEmpty(t, declared["declared_at"])
	delete(declared, "id")
	delete(declared, "declared_at")
	assert.Equal(t, map[string]any{"indicator": "3.1.platform_territories", "period": "2020", "territory": nil, "value": 2.0,
		"source": "COPIL", "comment": "Agen et Marmande"}, declared)
	require.Equal(t, http.StatusCreated, declare("3.1.platform_territories", admin47, `{"period":"2020","value":4,"source":"COPIL"}`).Code)
	rec = declare("2.1.people_welcomed", agent47, `{"period":"2020-06","territory":"47-AGEN1","value":12.5,"source":"CMS Agen"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	_, audited := h.counts()
	for _, tt := range []struct {
		name   string
		code   string
		as     auth.Principal
		body   string
		status int
		field  string
	}{
		{"a computed indicator", "3.1.new_entrants", admin47, `{"period":"2020","value":1,"source":"s"}`, 422, "code"},
		{"an agent without territory", "2.1.people_welcomed", agent47, `{"period":"2020","value":1,"source":"s"}`, 422, "territory"},
		{"an agent for another territory", "2.1.people_welcomed", agent47, `{"period":"2020","territory":"47-NERAC","value":1,"source":"s"}`, 422, "territory"},
		{"a bad period", "2.1.people_welcomed", admin47, `{"period":"2020-13","value":1,"source":"s"}`, 422, "period"},
		{"a value as text", "2.1.people_welcomed", admin47, `{"period":"2020","value":"many","source":"s"}`, 422, "value"},
		{"no source", "2.1.people_welcomed", admin47, `{"period":"2020","value":1}`, 422, "source"},
		{"an unknown indicator", "9.9.none", admin47, `{"period":"2020","value":1,"source":"s"}`, 404, ""},
		{"another département", "2.1.people_welcomed", admin33, `{"period":"2020","value":1,"source":"s"}`, 404, ""},
		{"a manager", "2.1.people_welcomed", manager47, `{"period":"2020","value":1,"source":"s"}`, 403, ""},
		{"a partner", "2.1.people_welcomed", partner47, `{"period":"2020","value":1,"source":"s"}`, 403, ""},
	} {
		p := problem(t, declare(tt.code, tt.as, tt.body), tt.status)
		if tt.field != "" {
			assert.Contains(t, fields(p), tt.field, tt.name)
		}
	}
	_, after := h.counts()
	assert.Equal(t, audited, after, "refusals write nothing")

	report := func(query string, as auth.Principal) map[string]indicatorRowBody {
		t.Helper()
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020" + query, as: as})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return decode[indicatorReportBody](t, rec).rows()
	}
	rows := report("", manager47)
	platform := rows["3.1.platform_territories"]
	require.NotNil(t, platform.Value)
	assert.Equal(t, 4.0, *platform.Value, "the latest declaration counts")
	assert.Equal(t, "met", platform.Status, "4 ≥ 3")
	require.Len(t, platform.Declared, 1)
	assert.Equal(t, "2020", platform.Declared[0].Period)
	assert.Equal(t, "no_data", rows["2.1.people_welcomed"].Status, "Agen's figure is not the département's")
	assert.Equal(t, "no_data", rows["5.trainings_by_theme"].Status)
	for code, r := range rows {
		assert.Contains(t, []string{"met", "behind", "no_target", "no_data"}, r.Status, code)
		if r.Method == "computed" {
			assert.Empty(t, r.Declared, code)
		}
	}
	welcomed := report("&territory=47-AGEN1", agent47)["2.1.people_welcomed"]
	require.NotNil(t, welcomed.Value)
	assert.Equal(t, 12.5, *welcomed.Value)
	assert.Equal(t, "no_target", welcomed.Status)
	require.Len(t, welcomed.Declared, 1)
	assert.Equal(t, "47-AGEN1", *welcomed.Declared[0].Territory)

	// CSV and XLSX; the workbook holds the spend sheet only for those who may read spend.
	rec = h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020&action=3.1&format=csv", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `attachment; filename="indicateurs-47-2020.csv"`, rec.Header().Get("Content-Disposition"))
	records, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, []string{"Fiche", "Code", "Indicateur", "Portée", "Unité", "Méthode", "Cible", "Comparaison", "Valeur", "Statut"}, records[0])
	assert.Len(t, records, 1+5)
	assert.Contains(t, records, []string{"3.1", "3.1.platform_territories", "Mise en place de la plateforme", "départemental", "nombre",
		"déclaré", "3", "≥", "4", "atteint"})
	for _, tt := range []struct {
		as     auth.Principal
		sheets []string
	}{{agent47, []string{"Indicateurs"}}, {manager47, []string{"Dépenses", "Indicateurs"}}} {
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020&format=xlsx", as: tt.as})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
		require.NoError(t, err)
		assert.Equal(t, tt.sheets, f.GetSheetList(), tt.as.Role)
		_ = f.Close()
	}
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020&format=ods", as: manager47}), http.StatusBadRequest)
}
