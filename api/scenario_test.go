package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// created posts body to path as admin and returns the new resource's id and version.
func (h *harness) created(path, body string) (int64, int) {
	h.t.Helper()
	rec := h.do(request{method: http.MethodPost, path: path, as: admin47, body: body})
	require.Equal(h.t, http.StatusCreated, rec.Code, "%s: %s", path, rec.Body.String())
	out := decode[struct {
		ID      int64 `json:"id"`
		Version int   `json:"version"`
	}](h.t, rec)
	return out.ID, out.Version
}

// The whole orientation pathway through the API, on a territory the demo data leaves empty:
// new entrants → a platform session → convocations → attendance → catch-up and formal notice
// → orientation decisions; then the session summary and the three orientation indicators,
// against figures worked out by hand.
func TestOrientationPathwayScenario(t *testing.T) {
	h := newHarness(t)
	site, _ := h.created("/api/v1/organisations", `{"name":"Pôle emploi Nérac (scénario)","kind":"pole_emploi","territory_code":"47-NERAC"}`)
	social, _ := h.created("/api/v1/organisations", `{"name":"CMS de Nérac (scénario)","kind":"departement","territory_code":"47-NERAC"}`)

	// Rights opened in 2020 for A-E; F is not subject to rights and duties; G opened in 2019.
	people := map[string]int64{}
	for i, p := range []struct{ name, opened, duties string }{
		{"A", "2020-09-01", "true"}, {"B", "2020-09-01", "true"}, {"C", "2020-09-01", "true"},
		{"D", "2020-09-01", "true"}, {"E", "2020-09-10", "true"}, {"F", "2020-09-01", "false"}, {"G", "2019-12-20", "true"},
	} {
		people[p.name], _ = h.created("/api/v1/beneficiaries", fmt.Sprintf(`{"last_name":"Scénario %s","first_name":"Test",
			"birth_date":"1990-01-01","payer":"caf","allocataire_number":"90000%d","territory_code":"47-NERAC",
			"rights_opened_on":"%s","subject_to_rights_and_duties":%s}`, p.name, i, p.opened, p.duties))
	}

	session, _ := h.created("/api/v1/orientation-sessions", fmt.Sprintf(`{"territory_code":"47-NERAC","site_organisation_id":%d,
		"starts_at":"2020-09-20T09:00:00+02:00","capacity":6,"employment_professional":"Conseiller Pôle emploi",
		"social_professional":"Travailleur social du CMS"}`, site))
	sessionPath := "/api/v1/orientation-sessions/" + strconv.FormatInt(session, 10)
	convocation := map[string]int64{}
	for _, name := range []string{"A", "B", "C", "D", "E"} {
		convocation[name], _ = h.created(sessionPath+"/convocations", fmt.Sprintf(`{"beneficiary_id":%d,"sent_on":"2020-09-11"}`, people[name]))
	}
	p := problem(t, h.do(request{method: http.MethodPost, path: sessionPath + "/convocations", as: admin47,
		body: fmt.Sprintf(`{"beneficiary_id":%d,"sent_on":"2020-09-21"}`, people["F"])}), http.StatusUnprocessableEntity)
	assert.Contains(t, fields(p), "sent_on", "a convocation sent after the session")

	for name, attendance := range map[string]string{"A": "present", "B": "present", "C": "present", "D": "no_show", "E": "no_show"} {
		rec := h.do(request{method: http.MethodPatch, path: "/api/v1/convocations/" + strconv.FormatInt(convocation[name], 10),
			as: admin47, headers: map[string]string{"If-Match": `"1"`}, body: `{"attendance":"` + attendance + `"}`})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	rec := h.do(request{method: http.MethodPost, path: "/api/v1/convocations/" + strconv.FormatInt(convocation["D"], 10) + "/catch-up",
		as: admin47, body: `{"date":"2020-10-05","attended":true}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	h.created("/api/v1/convocations/"+strconv.FormatInt(convocation["E"], 10)+"/formal-notice",
		`{"issued_on":"2020-09-25","response_deadline":"2020-10-25"}`)

	// Decisions: A and B 19 days after their rights opened, C 44 days, D (caught up) 34 days.
	for name, d := range map[string]struct {
		route, org, decided string
	}{
		"A": {"professionnelle", strconv.FormatInt(site, 10), "2020-09-20"},
		"B": {"socio_professionnelle", strconv.FormatInt(site, 10), "2020-09-20"},
		"C": {"sociale", strconv.FormatInt(social, 10), "2020-10-15"},
		"D": {"professionnelle", strconv.FormatInt(site, 10), "2020-10-05"},
	} {
		h.created("/api/v1/beneficiaries/"+strconv.FormatInt(people[name], 10)+"/orientations", fmt.Sprintf(
			`{"route":"%s","organisation_id":%s,"decided_on":"%s","origin":"platform","convocation_id":%d}`,
			d.route, d.org, d.decided, convocation[name]))
	}

	rec = h.do(request{method: http.MethodGet, path: sessionPath + "/summary", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, fmt.Sprintf(`{"session_id":%d,"convoked":5,"present":3,"excused":0,"no_show":2,"caught_up":1,"formal_notices":1,
		"orientations_by_route":{"professionnelle":2,"socio_professionnelle":1,"sociale":1}}`, session), rec.Body.String())

	type row struct {
		Code  string   `json:"code"`
		Value *float64 `json:"value"`
	}
	report := decode[struct {
		Indicators []row `json:"indicators"`
	}](t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2020&action=3.1&territory=47-NERAC", as: manager47}))
	values := map[string]*float64{}
	for _, r := range report.Indicators {
		values[r.Code] = r.Value
	}
	// A-E are the 2020 new entrants subject to rights and duties (F is not, G opened in 2019);
	// A and B were oriented within 30 days; the mean delay is (19 + 19 + 44 + 34) / 4 = 29.
	for code, want := range map[string]float64{
		"3.1.new_entrants": 5, "3.1.new_entrants_oriented_1_month": 2, "3.1.orientation_delay_days": 29,
	} {
		require.NotNil(t, values[code], code)
		assert.Equal(t, want, *values[code], code)
	}

	timeline := decode[struct {
		Events []struct {
			Date string `json:"date"`
			Type string `json:"type"`
		} `json:"events"`
	}](t, h.do(request{method: http.MethodGet, path: "/api/v1/beneficiaries/" + strconv.FormatInt(people["D"], 10) + "/timeline", as: agentNerac}))
	var steps []string
	for _, e := range timeline.Events {
		steps = append(steps, e.Date+" "+e.Type)
	}
	assert.Equal(t, []string{"2020-09-01 rights_opened", "2020-09-11 convocation_sent", "2020-09-20 session",
		"2020-10-05 catch_up", "2020-10-05 orientation_decided"}, steps)
}
