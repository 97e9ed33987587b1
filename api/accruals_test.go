package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/accompindicators"
	"parcours/services/accruals/accompanimenttest"
	"parcours/services/auth"
	"parcours/services/enrolments"
	"parcours/services/indicators"
)

// withAccompanimentIndicators registers the accompaniment indicators in r, as serve does.
func withAccompanimentIndicators(r *indicators.Registry) *indicators.Registry {
	accompindicators.RegisterIndicators(r)
	return r
}

var manager33 = auth.Principal{Subject: "manager33", Role: auth.RoleManager, Departement: "33"}

type accrualsBody struct {
	Action string `json:"action"`
	Year   int    `json:"year"`
	AsOf   string `json:"as_of"`
	Months []struct {
		Month  string `json:"month"`
		Amount string `json:"amount"`
	} `json:"months"`
	Total string `json:"total"`
}

type exitsBody struct {
	Action   string           `json:"action"`
	Year     int              `json:"year"`
	Total    int64            `json:"total"`
	ByReason map[string]int64 `json:"by_reason"`
}

// gironde42 enrols three people of Gironde (département 33, where the demo data has nothing)
// in a programme of fiche 4.2 at 600 € a month.
func gironde42(h *harness) {
	fx := accompanimenttest.New(h.t, h.db, "33")
	fx.Territory("33-BORDEAUX")
	org := fx.Organisation("Pôle emploi Bordeaux", "pole_emploi")
	job := fx.Programme("JOB33", "4.2", accompanimenttest.PerMonth("600.00"))
	for _, e := range []accompanimenttest.Enrolment{
		{StartedOn: "2020-03-16", EndedOn: "2020-05-10", ExitReason: "employment_permanent"},
		{StartedOn: "2020-06-01"},
		{StartedOn: "2020-10-10", EndedOn: "2020-12-31", ExitReason: "moved"},
	} {
		e.Programme, e.Organisation = job, org
		fx.Enrol(accompanimenttest.Journey{Territory: "33-BORDEAUX", Enrolment: e})
	}
}

func monthly(b accrualsBody) []string {
	out := make([]string, len(b.Months))
	for i, m := range b.Months {
		out[i] = m.Month + " " + m.Amount
	}
	return out
}

func TestAccrualsThroughTheAPI(t *testing.T) {
	h := newHarness(t)
	gironde42(h)
	_, audited := h.counts()

	// 03-16 → 05-10: 600 × 16/31 = 309.68 in March, 600.00 in April, 600 × 10/31 = 193.55 in May;
	// open from 06-01: 600.00 a month; 10-10 → 12-31: 600 × 22/31 = 425.81 in October, then 600.00.
	// Total: 309.68 + 600 + 193.55 + 4 × 600 + 1025.81 + 1200 + 1200 = 6929.04.
	for _, as := range []auth.Principal{admin33, manager33} {
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.2/accruals?year=2020", as: as})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decode[accrualsBody](t, rec)
		assert.Equal(t, "4.2", got.Action)
		assert.Equal(t, 2020, got.Year)
		assert.Equal(t, "2020-12-31", got.AsOf)
		assert.Equal(t, []string{"2020-01 0.00", "2020-02 0.00", "2020-03 309.68", "2020-04 600.00", "2020-05 193.55",
			"2020-06 600.00", "2020-07 600.00", "2020-08 600.00", "2020-09 600.00", "2020-10 1025.81",
			"2020-11 1200.00", "2020-12 1200.00"}, monthly(got))
		assert.Equal(t, "6929.04", got.Total)
	}

	// As of 30 September: 309.68 + 600 + 193.55 + 4 × 600 = 3503.23, nothing afterwards.
	got := decode[accrualsBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.2/accruals?year=2020&as_of=2020-09-30", as: manager33}))
	assert.Equal(t, "2020-09-30", got.AsOf)
	assert.Equal(t, "3503.23", got.Total)
	assert.Equal(t, "2020-10 0.00", monthly(got)[9])

	// Exits of 2020: one to a permanent job, one move; the open enrolment is not an exit.
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.2/exits?year=2020", as: manager33})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	exits := decode[exitsBody](t, rec)
	assert.Equal(t, int64(2), exits.Total)
	assert.Len(t, exits.ByReason, len(enrolments.ExitReasons))
	assert.Equal(t, int64(1), exits.ByReason["employment_permanent"])
	assert.Equal(t, int64(1), exits.ByReason["moved"])
	assert.Equal(t, int64(0), exits.ByReason["training"])

	// A fiche of the convention without programmes (training of social workers) answers zeros.
	lot := decode[accrualsBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/actions/5/accruals?year=2020", as: manager47}))
	assert.Equal(t, "0.00", lot.Total)
	assert.Len(t, lot.Months, 12)
	// Another year: every month at 0.00.
	assert.Equal(t, "0.00", decode[accrualsBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.2/accruals?year=2019", as: admin33})).Total)

	_, after := h.counts()
	assert.Equal(t, audited, after, "aggregates are not nominative reads: nothing audited")
}

func TestAccrualsAndExitsAccessAndParameters(t *testing.T) {
	h := newHarness(t)
	gironde42(h)
	for _, route := range []string{"accruals", "exits"} {
		base := "/api/v1/actions/4.2/" + route
		for _, tt := range []struct {
			name   string
			path   string
			as     auth.Principal
			status int
			field  string
		}{
			{"no token", base + "?year=2020", auth.Principal{}, http.StatusUnauthorized, ""},
			{"agent", base + "?year=2020", agent47, http.StatusForbidden, ""},
			{"partner", base + "?year=2020", partner47, http.StatusForbidden, ""},
			{"no year", base, admin47, http.StatusBadRequest, "year"},
			{"year not a number", base + "?year=twenty", admin47, http.StatusBadRequest, "year"},
			{"year out of range", base + "?year=1999", manager47, http.StatusBadRequest, "year"},
			{"unknown fiche", "/api/v1/actions/9.9/" + route + "?year=2020", admin47, http.StatusNotFound, ""},
			{"a fiche of no programme of the département", "/api/v1/actions/1.1/" + route + "?year=2020", admin33, http.StatusNotFound, ""},
		} {
			rec := h.do(request{method: http.MethodGet, path: tt.path, as: tt.as})
			p := problem(t, rec, tt.status)
			if tt.field != "" {
				assert.Contains(t, fields(p), tt.field, "%s %s", route, tt.name)
			}
		}
	}
	for _, asOf := range []string{"30/09/2020", "2020-02-30", "2021-01-01", "2019-12-31", ""} {
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.2/accruals?year=2020&as_of=" + asOf, as: admin47})
		assert.Contains(t, fields(problem(t, rec, http.StatusBadRequest)), "as_of", asOf)
	}
}

func TestAccompanimentIndicatorsAreInTheReport(t *testing.T) {
	h := newHarness(t)
	type row struct {
		Code  string       `json:"code"`
		Value *json.Number `json:"value"`
	}
	computed := map[string]bool{}
	for _, fiche := range []string{"1.1", "4.1", "4.2", "4.3"} {
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020&action=" + fiche, as: manager47})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		for _, r := range decode[struct {
			Indicators []row `json:"indicators"`
		}](t, rec).Indicators {
			if r.Value != nil {
				computed[r.Code] = true
			}
		}
	}
	for _, code := range []string{"4.2.first_appointments", "4.2.first_appointments_2_weeks", "4.2.first_contracts",
		"4.2.first_contracts_2_months", "4.3.first_appointments", "4.3.first_appointments_2_weeks", "4.3.first_contracts",
		"4.3.first_contracts_2_months", "4.1.people_accompanied", "1.1.diagnostics", "1.1.active", "1.1.exits"} {
		assert.True(t, computed[code], "%s is computed from case data", code)
	}
}
