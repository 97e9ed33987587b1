package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services/auth"
	"parcours/services/cumul"
	"parcours/services/indicators"
	"parcours/services/orientations/pathwaytest"
)

// withCumulIndicators registers the cumul indicators of fiche 4.4 in r, as serve does.
func withCumulIndicators(r *indicators.Registry) *indicators.Registry {
	cumul.RegisterIndicators(r)
	return r
}

type cumulAllocationBody struct {
	ID                       int64  `json:"id"`
	AgreementID              int64  `json:"agreement_id"`
	Month                    string `json:"month"`
	Wages                    string `json:"wages"`
	RSAWithoutWages          string `json:"rsa_without_wages"`
	OtherAgreementsAllocated string `json:"other_agreements_allocated"`
	RSAWithWages             string `json:"rsa_with_wages"`
	Allocation               string `json:"allocation"`
	Parameters               *struct {
		ValidFrom        string  `json:"valid_from"`
		OnePersonAmount  string  `json:"one_person_amount"`
		HouseholdSize    int     `json:"household_size"`
		Multiplier       string  `json:"multiplier"`
		HouseholdAmount  string  `json:"household_amount"`
		HousingAid       bool    `json:"housing_aid"`
		HousingRate      *string `json:"housing_rate"`
		HousingDeduction string  `json:"housing_deduction"`
		OtherResources   string  `json:"other_resources"`
	} `json:"parameters"`
}

type cumulEnvelopeBody struct {
	Year                         int
	Budget, Allocated, Remaining string
}

// cumulPerson inserts a beneficiary of territory (a demo one), paid by the MSA, and returns its
// id.
func (h *harness) cumulPerson(territory string) int64 {
	h.t.Helper()
	var n int64
	require.NoError(h.t, h.db.Table("beneficiaries").Count(&n).Error)
	row := models.Beneficiary{Departement: "47", LastName: "Saisonnier", FirstName: "Test", BirthDate: pathwaytest.Date(h.t, "1990-04-12"),
		Payer: "msa", AllocataireNumber: fmt.Sprintf("C%07d", n+1), TerritoryCode: territory, HouseholdSize: 1,
		RightsOpenedOn: pathwaytest.Date(h.t, "2019-06-03"), SubjectToRightsAndDuties: true, Version: 1}
	require.NoError(h.t, h.db.Create(&row).Error)
	return row.ID
}

// cumulAgreement records, as admin, an agreement of beneficiary from starts to ends with the
// employer of SIRET siret, and returns its id.
func (h *harness) cumulAgreement(beneficiary int64, siret, starts, ends string) int64 {
	h.t.Helper()
	id, _ := h.created("/api/v1/cumul/agreements", fmt.Sprintf(`{"beneficiary_id":%d,"employer":"EARL des Vergers","siret":%q,
		"sector":"agriculture","contract_type":"seasonal","starts_on":%q,"ends_on":%q,"hours":35}`, beneficiary, siret, starts, ends))
	return id
}

func allocationsPath(agreement int64) string {
	return fmt.Sprintf("/api/v1/cumul/agreements/%d/allocations", agreement)
}

var cumulTables = []string{"cumul_agreements", "cumul_allocations", "audit_events"}

func TestCumulThroughTheAPI(t *testing.T) {
	h := newHarness(t)
	person := h.cumulPerson("47-AGEN1")

	// An agent of the person's territory records the agreement; the SIRET is stored without spaces.
	rec := h.do(request{method: http.MethodPost, path: "/api/v1/cumul/agreements", as: agent47, body: fmt.Sprintf(`{"beneficiary_id":%d,
		"employer":"EARL des Vergers","siret":"732 829 320 00074","sector":"agriculture","contract_type":"seasonal",
		"starts_on":"2020-05-15","ends_on":"2020-09-30","hours":35}`, person)})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	agreement := decode[struct {
		ID    int64  `json:"id"`
		SIRET string `json:"siret"`
	}](t, rec)
	assert.Equal(t, "73282932000074", agreement.SIRET)
	assert.Equal(t, fmt.Sprintf("/api/v1/cumul/agreements/%d", agreement.ID), rec.Header().Get("Location"))
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))

	// June, the rSa given: wages above it, the département pays the whole rSa.
	rec = h.do(request{method: http.MethodPost, path: allocationsPath(agreement.ID), as: agent47,
		body: `{"month":"2020-06","wages":"1200.00","rsa_without_wages":"564.78"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	june := decode[cumulAllocationBody](t, rec)
	assert.Equal(t, [4]string{"2020-06", "564.78", "0.00", "564.78"}, [4]string{june.Month, june.RSAWithoutWages, june.RSAWithWages, june.Allocation})
	assert.Nil(t, june.Parameters)

	// July, computed: 2 persons with housing aid in July 2020, 564.78 × 1.5 = 847.17, minus
	// 16 % × 847.17 = 135.5472 → 135.55: 711.62; wages of 400 below it.
	rec = h.do(request{method: http.MethodPost, path: allocationsPath(agreement.ID), as: admin47,
		body: `{"month":"2020-07","wages":"400.00","household_size":2,"housing_aid":true}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	july := decode[cumulAllocationBody](t, rec)
	assert.Equal(t, [4]string{"2020-07", "711.62", "311.62", "400.00"}, [4]string{july.Month, july.RSAWithoutWages, july.RSAWithWages, july.Allocation})
	require.NotNil(t, july.Parameters)
	assert.Equal(t, "2020-04-01", july.Parameters.ValidFrom)
	assert.Equal(t, "564.78", july.Parameters.OnePersonAmount)
	assert.Equal(t, "1.5", july.Parameters.Multiplier)
	assert.Equal(t, "847.17", july.Parameters.HouseholdAmount)
	assert.Equal(t, "0.16", *july.Parameters.HousingRate)
	assert.Equal(t, "135.55", july.Parameters.HousingDeduction)

	// The allocations show in fiche 4.4's accruals, in their months: the spend report counts them.
	got := decode[accrualsBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/actions/4.4/accruals?year=2020", as: manager47}))
	assert.Equal(t, []string{"2020-01 0.00", "2020-02 0.00", "2020-03 0.00", "2020-04 0.00", "2020-05 0.00", "2020-06 564.78",
		"2020-07 400.00", "2020-08 0.00", "2020-09 0.00", "2020-10 0.00", "2020-11 0.00", "2020-12 0.00"}, monthly(got))
	assert.Equal(t, "964.78", got.Total)

	rec = h.do(request{method: http.MethodGet, path: "/api/v1/cumul/envelope?year=2020", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, cumulEnvelopeBody{Year: 2020, Budget: "200000.00", Allocated: "964.78", Remaining: "199035.22"}, decode[cumulEnvelopeBody](t, rec))

	// Reads by the agent, audited; the reopening of the rights closes August.
	before := h.tableCounts("audit_events")["audit_events"]
	rec = h.do(request{method: http.MethodGet, path: allocationsPath(agreement.ID), as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Len(t, decode[listOf[cumulAllocationBody]](t, rec).Items, 2)
	rec = h.do(request{method: http.MethodGet, path: fmt.Sprintf("/api/v1/cumul/agreements?beneficiary=%d", person), as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Len(t, decode[listOf[struct{ ID int64 }]](t, rec).Items, 1)
	assert.Equal(t, before+3, h.tableCounts("audit_events")["audit_events"], "two allocations and one agreement read")

	path := fmt.Sprintf("/api/v1/cumul/agreements/%d", agreement.ID)
	rec = h.do(request{method: http.MethodPatch, path: path, as: agent47, body: `{"unemployment_rights_reopened_on":"2020-07-20"}`})
	problem(t, rec, http.StatusPreconditionRequired)
	rec = h.do(request{method: http.MethodPatch, path: path, as: agent47, body: `{"unemployment_rights_reopened_on":"2020-07-20"}`,
		headers: map[string]string{"If-Match": `"2"`}})
	problem(t, rec, http.StatusPreconditionFailed)
	rec = h.do(request{method: http.MethodPatch, path: path, as: agent47, body: `{"unemployment_rights_reopened_on":"2020-07-20"}`,
		headers: map[string]string{"If-Match": `"1"`}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	counts := h.tableCounts(cumulTables...)
	p := problem(t, h.do(request{method: http.MethodPost, path: allocationsPath(agreement.ID), as: agent47,
		body: `{"month":"2020-08","wages":"100.00","rsa_without_wages":"564.78"}`}), http.StatusUnprocessableEntity)
	assert.Contains(t, fields(p)["month"], "reopening of the unemployment rights (2020-07-20)")
	assert.Equal(t, counts, h.tableCounts(cumulTables...), "nothing written")

	// A second allocation of June names the first.
	p = problem(t, h.do(request{method: http.MethodPost, path: allocationsPath(agreement.ID), as: agent47,
		body: `{"month":"2020-06","wages":"100.00","rsa_without_wages":"564.78"}`}), http.StatusConflict)
	require.NotNil(t, p.ExistingID)
	assert.Equal(t, june.ID, *p.ExistingID)
	assert.Nil(t, p.Remaining)

	// The indicators of fiche 4.4 for 2020: one person enrolled, not maintained (May–July:
	// the reopening ends it in July).
	rec = h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020&action=4.4", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	values := map[string]any{}
	for _, row := range decode[struct {
		Indicators []map[string]any `json:"indicators"`
	}](t, rec).Indicators {
		values[row["code"].(string)] = row["value"]
	}
	assert.Equal(t, map[string]any{"4.4.people_enrolled": float64(1), "4.4.people_maintained": float64(0)}, values)

	rec = h.do(request{method: http.MethodGet, path: "/api/v1/cumul/allocations/summary?year=2020", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	summary := decode[struct {
		Months []struct {
			Month       string
			Allocations int
			Amount      string
		}
		Total    map[string]any
		BySector []map[string]any `json:"by_sector"`
	}](t, rec)
	assert.Equal(t, "564.78", summary.Months[5].Amount)
	assert.Equal(t, map[string]any{"agreements": float64(1), "people": float64(1), "allocations": float64(2), "amount": "964.78"}, summary.Total)
	assert.Equal(t, "agriculture", summary.BySector[0]["sector"])
}

func TestCumulRequestRules(t *testing.T) {
	h := newHarness(t)
	person := h.cumulPerson("47-AGEN1")
	agreement := h.cumulAgreement(person, "73282932000074", "2020-05-15", "2020-09-30")
	valid := fmt.Sprintf(`"beneficiary_id":%d,"employer":"Conserverie","sector":"agrifood","contract_type":"fixed_term","hours":20`, person)
	for _, tt := range []struct {
		name, path, body string
		status           int
		fields           []string
	}{
		{"SIRET key", "/api/v1/cumul/agreements", `{` + valid + `,"siret":"44306184100048","starts_on":"2020-06-01","ends_on":"2020-06-30"}`, 422, []string{"siret"}},
		{"La Poste's SIRET", "/api/v1/cumul/agreements", `{` + valid + `,"siret":"35600000000001","starts_on":"2020-06-01","ends_on":"2020-06-30"}`, 201, nil},
		{"window", "/api/v1/cumul/agreements", `{` + valid + `,"siret":"44306184100047","starts_on":"2020-03-01","ends_on":"2022-01-31"}`, 422, []string{"starts_on", "ends_on"}},
		{"no hours", "/api/v1/cumul/agreements", `{` + strings.Replace(valid, `"hours":20`, `"hours":0`, 1) + `,"siret":"44306184100047","starts_on":"2020-06-01","ends_on":"2020-06-30"}`, 422, []string{"hours"}},
		{"unknown field", "/api/v1/cumul/agreements", `{` + valid + `,"siret":"44306184100047","starts_on":"2020-06-01","ends_on":"2020-06-30","iban":"x"}`, 422, []string{"iban"}},
		{"month format", allocationsPath(agreement), `{"month":"2020-6","wages":"100.00"}`, 422, []string{"month"}},
		{"month outside", allocationsPath(agreement), `{"month":"2020-10","wages":"100.00"}`, 422, []string{"month"}},
		{"money as a number", allocationsPath(agreement), `{"month":"2020-06","wages":100}`, 422, []string{"wages"}},
		{"three decimals", allocationsPath(agreement), `{"month":"2020-06","wages":"100.005"}`, 422, []string{"wages"}},
		{"household with the rSa", allocationsPath(agreement), `{"month":"2020-06","wages":"100.00","rsa_without_wages":"564.78","housing_aid":false}`, 422, []string{"housing_aid"}},
		{"no such agreement", allocationsPath(999999), `{"month":"2020-06","wages":"100.00"}`, 404, nil},
		{"not JSON", allocationsPath(agreement), `month=2020-06`, 400, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			counts := h.tableCounts(cumulTables...)
			rec := h.do(request{method: http.MethodPost, path: tt.path, as: admin47, body: tt.body})
			if tt.status == http.StatusCreated {
				require.Equal(t, tt.status, rec.Code, rec.Body.String())
				return
			}
			p := problem(t, rec, tt.status)
			for _, f := range tt.fields {
				assert.Contains(t, fields(p), f)
			}
			assert.Len(t, p.Errors, len(tt.fields))
			assert.Equal(t, counts, h.tableCounts(cumulTables...), "nothing written")
		})
	}
	// 2021 has no fiche in the 2020 convention: no envelope, a 422 naming month; no envelope to read.
	later := h.cumulAgreement(person, "44306184100047", "2021-01-04", "2021-02-26")
	p := problem(t, h.do(request{method: http.MethodPost, path: allocationsPath(later), as: admin47,
		body: `{"month":"2021-01","wages":"100.00"}`}), http.StatusUnprocessableEntity)
	assert.Contains(t, fields(p)["month"], "no envelope")
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/cumul/envelope?year=2021", as: admin47}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/cumul/envelope", as: admin47}), http.StatusBadRequest)
}

func TestCumulAccessByRole(t *testing.T) {
	h := newHarness(t)
	agreement := h.cumulAgreement(h.cumulPerson("47-AGEN1"), "73282932000074", "2020-05-15", "2020-09-30")
	one := fmt.Sprintf("/api/v1/cumul/agreements/%d", agreement)
	newAgreement := fmt.Sprintf(`{"beneficiary_id":%d,"employer":"SCEA du Lot","siret":"44306184100047","sector":"agriculture",
		"contract_type":"seasonal","starts_on":"2020-06-01","ends_on":"2020-06-30","hours":35}`, h.cumulPerson("47-AGEN1"))
	routes := []struct {
		method, path, body string
		ok                 int
	}{
		{http.MethodPost, "/api/v1/cumul/agreements", newAgreement, http.StatusCreated},
		{http.MethodGet, "/api/v1/cumul/agreements", "", http.StatusOK},
		{http.MethodGet, one, "", http.StatusOK},
		{http.MethodPatch, one, `{"ends_on":"2020-09-29"}`, http.StatusOK},
		{http.MethodPost, allocationsPath(agreement), `{"month":"2020-06","wages":"10.00","rsa_without_wages":"564.78"}`, http.StatusCreated},
		{http.MethodGet, allocationsPath(agreement), "", http.StatusOK},
		{http.MethodGet, "/api/v1/cumul/envelope?year=2020", "", http.StatusOK},
		{http.MethodGet, "/api/v1/cumul/allocations/summary?year=2020", "", http.StatusOK},
	}
	nominative := map[string]bool{"/api/v1/cumul/agreements": true, one: true, allocationsPath(agreement): true}
	for _, tt := range []struct {
		name string
		as   auth.Principal
		want func(path string) int
	}{
		{"partner", partner47, func(string) int { return http.StatusForbidden }},
		{"manager", manager47, func(path string) int {
			if nominative[path] {
				return http.StatusForbidden
			}
			return 0
		}},
		{"agent of another territory", agentNerac, func(path string) int {
			switch {
			case path == one || path == allocationsPath(agreement):
				return http.StatusNotFound
			case strings.Contains(path, "summary"):
				return http.StatusForbidden
			case path == "/api/v1/cumul/agreements":
				return -1 // the create names a person of another territory: 404; the list is empty
			}
			return 0
		}},
		{"another département", admin33, func(path string) int {
			if path == one || path == allocationsPath(agreement) || strings.Contains(path, "envelope") {
				return http.StatusNotFound
			}
			return -1
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range routes {
				counts := h.tableCounts(cumulTables...)
				headers := map[string]string{"If-Match": "*"}
				rec := h.do(request{method: r.method, path: r.path, body: r.body, as: tt.as, headers: headers})
				switch want := tt.want(r.path); {
				case want > 0:
					problem(t, rec, want)
					assert.Equal(t, counts, h.tableCounts(cumulTables...), "%s %s wrote something", r.method, r.path)
				case want == 0:
					assert.Equal(t, r.ok, rec.Code, "%s %s: %s", r.method, r.path, rec.Body.String())
				default:
					assert.Contains(t, []int{http.StatusOK, http.StatusNotFound}, rec.Code, "%s %s: %s", r.method, r.path, rec.Body.String())
				}
			}
		})
	}
	for _, as := range []auth.Principal{admin47, agent47} {
		for _, r := range routes {
			if strings.Contains(r.path, "summary") && as.Role == auth.RoleAgent {
				continue
			}
			rec := h.do(request{method: r.method, path: r.path, body: r.body, as: as, headers: map[string]string{"If-Match": "*"}})
			assert.Contains(t, []int{r.ok, http.StatusConflict, http.StatusUnprocessableEntity}, rec.Code, "%s %s as %s: %s", r.method, r.path, as.Role, rec.Body.String())
		}
	}
}

// Fifty allocations at once, each of one month of one of six people, that together ask for
// more than the envelope: the sum charged never passes it, and every refusal is a 409 that
// says what was left.
func TestCumulEnvelopeHoldsUnderConcurrency(t *testing.T) {
	h := newHarness(t)
	const budget = "20000.00"
	// The 2020 line brought down to 20 000 € so that fifty realistic allocations exceed it.
	require.NoError(t, h.db.Exec(`UPDATE budget_lines SET amount = ?, departement_share = ? WHERE label = 'Financement de l’allocation'`, budget, budget).Error)
	var agreements []int64
	for range 6 {
		agreements = append(agreements, h.cumulAgreement(h.cumulPerson("47-AGEN1"), "73282932000074", "2020-04-01", "2020-12-31"))
	}
	type call struct {
		req    *http.Request
		body   string
		amount decimal.Decimal
		rec    *httptest.ResponseRecorder
	}
	token := h.token(admin47)
	calls := make([]*call, 50)
	requested := decimal.Zero
	for i := range calls {
		// 400.00 to 561.70 €: wages below the rSa, so the allocation is the wages; 24 042.50 € in all.
		amount := decimal.NewFromInt(40000 + int64(i)*330).Shift(-2)
		requested = requested.Add(amount)
		body := fmt.Sprintf(`{"month":"2020-%02d","wages":%q,"rsa_without_wages":"564.78"}`, 4+i/6, amount.StringFixed(2))
		req := httptest.NewRequest(http.MethodPost, allocationsPath(agreements[i%6]), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		calls[i] = &call{req: req, body: body, amount: amount, rec: httptest.NewRecorder()}
	}
	require.True(t, requested.GreaterThan(decimal.RequireFromString(budget)), "together they ask for %s", requested)

	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			h.router.ServeHTTP(c.rec, c.req)
		}()
	}
	close(start)
	wg.Wait()

	granted, refused, charged := 0, 0, decimal.Zero
	var remainders []decimal.Decimal
	for _, c := range calls {
		h.checkAgainstSpec(c.req, c.body, c.rec)
		switch c.rec.Code {
		case http.StatusCreated:
			granted++
			got := decode[cumulAllocationBody](t, c.rec)
			assert.Equal(t, c.amount.StringFixed(2), got.Allocation)
			charged = charged.Add(c.amount)
		case http.StatusConflict:
			refused++
			p := problem(t, c.rec, http.StatusConflict)
			require.NotNil(t, p.Remaining, c.rec.Body.String())
			left := decimal.RequireFromString(*p.Remaining)
			assert.True(t, left.LessThan(c.amount), "refused %s with %s left", c.amount, left)
			remainders = append(remainders, left)
		default:
			t.Errorf("unexpected %d: %s", c.rec.Code, c.rec.Body.String())
		}
	}
	assert.Equal(t, 50, granted+refused)
	assert.Positive(t, refused, "the fifty ask for more than the envelope")

	var stored decimal.Decimal
	require.NoError(t, h.db.Raw(`SELECT coalesce(sum(amount), 0) FROM cumul_allocations`).Scan(&stored).Error)
	assert.Equal(t, charged.StringFixed(2), stored.StringFixed(2), "what was granted is what is stored")
	assert.False(t, stored.GreaterThan(decimal.RequireFromString(budget)), "the envelope is never overspent: %s", stored)
	final := decimal.RequireFromString(budget).Sub(stored)
	for _, left := range remainders {
		assert.False(t, left.LessThan(final), "a refusal said %s left, less than the %s finally left", left, final)
	}
	var audited int64
	require.NoError(t, h.db.Table("audit_events").Where("resource = 'cumul_allocation' AND action = 'create'").Count(&audited).Error)
	assert.Equal(t, int64(granted), audited)

	env := decode[cumulEnvelopeBody](t, h.do(request{method: http.MethodGet, path: "/api/v1/cumul/envelope?year=2020", as: manager47}))
	assert.Equal(t, cumulEnvelopeBody{Year: 2020, Budget: budget, Allocated: stored.StringFixed(2), Remaining: final.StringFixed(2)}, env)
	t.Logf("50 concurrent allocations asking for %s € against %s €: %d granted (%s €), %d refused with 409, %s € left",
		requested.StringFixed(2), budget, granted, stored.StringFixed(2), refused, final.StringFixed(2))
}
