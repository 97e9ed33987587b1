package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services/auth"
	"parcours/services/orientations/pathwaytest"
)

// accompanimentCase is, on top of the demo data, a programme "test_offre" of fiche 4.2 at a
// test Pôle emploi agency (costed diagnostic interviews, 6 months renewable once, capacity 3),
// beneficiaries of 47-AGEN1 oriented to it on 14 September 2020, one of 47-NERAC, and a CCAS
// that does not provide the programme.
type accompanimentCase struct {
	h                           *harness
	fx                          *pathwaytest.Fixture
	pe, ccas                    int64
	peReferent, ccasReferent    int64
	person, second, third       int64
	far                         int64
	orientation, farOrientation int64
}

const testProgramme = "test_offre"

func newAccompanimentCase(h *harness) accompanimentCase {
	fx := pathwaytest.New(h.t, h.db)
	c := accompanimentCase{h: h, fx: fx}
	c.pe = fx.Organisation("Pôle emploi Agen (accompagnement)", "pole_emploi")
	c.ccas = fx.Organisation("CCAS d'Agen (accompagnement)", "ccas")
	c.peReferent = fx.Referent(c.pe, "Marie", "Dupont", true)
	c.ccasReferent = fx.Referent(c.ccas, "Paul", "Martin", true)
	c.person = fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	c.second = fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	c.third = fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	c.far = fx.Beneficiary(pathwaytest.Person{Territory: "47-NERAC", RightsOpenedOn: "2020-09-01"})
	c.orientation = c.orient(c.person, "2020-09-14")
	c.farOrientation = c.orient(c.far, "2020-09-14")
	h.created("/api/v1/programmes", fmt.Sprintf(`{"code":%q,"name":"Offre de test","action_code":"4.2","organisation_ids":[%d],
		"unit_costs":[{"basis":"per_event","event":"diagnostic_interview","amount":"250"},{"basis":"per_month","amount":"600.00"}],
		"max_months":6,"max_renewals":1,"capacity":3}`, testProgramme, c.pe))
	return c
}

// orient records the current orientation of beneficiary to the case's agency.
func (c accompanimentCase) orient(beneficiary int64, decidedOn string) int64 {
	c.h.t.Helper()
	row := models.Orientation{Departement: "47", BeneficiaryID: beneficiary, Route: "professionnelle", OrganisationID: c.pe,
		DecidedOn: pathwaytest.Date(c.h.t, decidedOn), Origin: "individual", Current: true}
	require.NoError(c.h.t, c.h.db.Create(&row).Error)
	return row.ID
}

func (c accompanimentCase) partner(org int64) auth.Principal {
	return auth.Principal{Subject: "partner-client", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org, 10)}
}

// enrolBody is an enrolment of beneficiary in the test programme at the agency, started on.
func (c accompanimentCase) enrolBody(beneficiary int64, startedOn string) string {
	return fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"referent_id":%d,"started_on":%q}`,
		beneficiary, testProgramme, c.pe, c.peReferent, startedOn)
}

// enrol creates an enrolment as admin and returns its id.
func (c accompanimentCase) enrol(body string) int64 {
	c.h.t.Helper()
	id, _ := c.h.created("/api/v1/enrolments", body)
	return id
}

func enrolmentPath(id int64, sub string) string {
	path := "/api/v1/enrolments/" + strconv.FormatInt(id, 10)
	if sub != "" {
		path += "/" + sub
	}
	return path
}

type enrolmentBody struct {
	ID                 int64   `json:"id"`
	BeneficiaryID      int64   `json:"beneficiary_id"`
	ProgrammeCode      string  `json:"programme_code"`
	OrganisationID     int64   `json:"organisation_id"`
	ReferentID         *int64  `json:"referent_id"`
	OrientationID      *int64  `json:"orientation_id"`
	StartedOn          string  `json:"started_on"`
	FirstAppointmentOn *string `json:"first_appointment_on"`
	Renewals           int     `json:"renewals"`
	EndedOn            *string `json:"ended_on"`
	ExitReason         *string `json:"exit_reason"`
	Version            int     `json:"version"`
}

// patchEnrolment sends a PATCH with If-Match "*".
func (c accompanimentCase) patchEnrolment(id int64, as auth.Principal, body string) *httptest.ResponseRecorder {
	return c.h.do(request{method: http.MethodPatch, path: enrolmentPath(id, ""), as: as, body: body, headers: map[string]string{"If-Match": "*"}})
}

// listedEnrolments returns the ids of the enrolments GET /api/v1/enrolments+query lists to as.
func (h *harness) listedEnrolments(as auth.Principal, query string) []int64 {
	h.t.Helper()
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/enrolments" + query, as: as})
	require.Equal(h.t, http.StatusOK, rec.Code, rec.Body.String())
	var ids []int64
	for _, item := range decode[struct {
		Items []enrolmentBody `json:"items"`
	}](h.t, rec).Items {
		ids = append(ids, item.ID)
	}
	return ids
}

// accompanimentCounts is what a refused request must leave unchanged: the rows of every
// accompaniment table, the sum of the enrolment versions, and the audit trail.
type accompanimentCounts struct {
	programmes, enrolments, events, contracts, versions, audit int64
}

func (h *harness) accompanimentCounts() accompanimentCounts {
	h.t.Helper()
	var n accompanimentCounts
	for table, dst := range map[string]*int64{"programmes": &n.programmes, "enrolments": &n.enrolments,
		"enrolment_events": &n.events, "contracts": &n.contracts, "audit_events": &n.audit} {
		require.NoError(h.t, h.db.Table(table).Count(dst).Error)
	}
	require.NoError(h.t, h.db.Raw(`SELECT coalesce(sum(version), 0) FROM enrolments`).Scan(&n.versions).Error)
	return n
}

func TestProgrammeCatalogue(t *testing.T) {
	h := newHarness(t)
	c := newAccompanimentCase(h)

	for _, who := range []auth.Principal{admin47, manager47, agent47, partner47} {
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/programmes?action=4.2", as: who})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		list := decode[struct {
			Items []struct {
				Code string `json:"code"`
			} `json:"items"`
		}](t, rec)
		var codes []string
		for _, p := range list.Items {
			codes = append(codes, p.Code)
		}
		assert.Equal(t, []string{"offre_departementale_emploi", testProgramme}, codes, "every role reads the catalogue, by code")
	}

	rec := h.do(request{method: http.MethodGet, path: "/api/v1/programmes/" + testProgramme, as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
	assert.JSONEq(t, fmt.Sprintf(`{"code":"test_offre","name":"Offre de test","action_code":"4.2","organisation_ids":[%d],
		"unit_costs":[{"basis":"per_event","event":"diagnostic_interview","amount":"250.00"},{"basis":"per_month","event":null,"amount":"600.00"}],
		"max_months":6,"max_renewals":1,"capacity":3,"version":1}`, c.pe), withoutTimes(t, rec.Body.String()))

	rec = h.do(request{method: http.MethodGet, path: "/api/v1/programmes?limit=3", as: agent47})
	require.Equal(t, http.StatusOK, rec.Code)
	page := decode[struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}](t, rec)
	require.NotNil(t, page.NextCursor)
	assert.Equal(t, "accompagnement_global", page.Items[0].Code)
	rec = h.do(request{method: http.MethodGet, path: "/api/v1/programmes?limit=3&cursor=" + *page.NextCursor, as: agent47})
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "offre_departementale_emploi", decode[struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}](t, rec).Items[0].Code)

	// PATCH replaces the sets given and removes a limit with null.
	rec = h.do(request{method: http.MethodPatch, path: "/api/v1/programmes/" + testProgramme, as: admin47, headers: map[string]string{"If-Match": `"1"`},
		body: fmt.Sprintf(`{"organisation_ids":[%d,%d],"unit_costs":[{"basis":"per_enrolment","event":null,"amount":"1000"}],"capacity":null}`, c.pe, c.ccas)})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	assert.JSONEq(t, fmt.Sprintf(`{"code":"test_offre","name":"Offre de test","action_code":"4.2","organisation_ids":[%d,%d],
		"unit_costs":[{"basis":"per_enrolment","event":null,"amount":"1000.00"}],"max_months":6,"max_renewals":1,"capacity":null,"version":2}`,
		c.pe, c.ccas), withoutTimes(t, rec.Body.String()))
	var audited int64
	require.NoError(t, h.db.Model(&models.AuditEvent{}).Where("resource = 'programme' AND resource_id = ? AND action = 'update'", testProgramme).
		Count(&audited).Error)
	assert.Equal(t, int64(1), audited)

	valid := fmt.Sprintf(`{"code":"nouveau","name":"Nouveau","action_code":"4.3","organisation_ids":[%d]}`, c.pe)
	tests := []struct {
		name, method, path, body string
		as                       auth.Principal
		headers                  map[string]string
		status                   int
		fields                   []string
	}{
		{"agent creates", http.MethodPost, "/api/v1/programmes", valid, agent47, nil, http.StatusForbidden, nil},
		{"manager changes", http.MethodPatch, "/api/v1/programmes/" + testProgramme, `{"name":"x"}`, manager47, map[string]string{"If-Match": "*"}, http.StatusForbidden, nil},
		{"code taken", http.MethodPost, "/api/v1/programmes", fmt.Sprintf(`{"code":"paajm","name":"x","action_code":"1.1","organisation_ids":[%d]}`, c.pe), admin47, nil, http.StatusConflict, nil},
		{"unknown fiche and organisation", http.MethodPost, "/api/v1/programmes", `{"code":"nouveau","name":"x","action_code":"9.9","organisation_ids":[999999]}`,
			admin47, nil, http.StatusUnprocessableEntity, []string{"action_code", "organisation_ids"}},
		{"malformed", http.MethodPost, "/api/v1/programmes", `{"code":"Nouveau!","name":" ","action_code":"x","organisation_ids":[],"max_months":0,"capacity":-1,"max_renewals":-1}`,
			admin47, nil, http.StatusUnprocessableEntity, []string{"code", "name", "action_code", "organisation_ids", "max_months", "capacity", "max_renewals"}},
		{"bad unit costs", http.MethodPost, "/api/v1/programmes", fmt.Sprintf(`{"code":"nouveau","name":"x","action_code":"4.3","organisation_ids":[%d],
			"unit_costs":[{"basis":"per_event","amount":"1.234"},{"basis":"per_month","event":"x","amount":"1"},{"basis":"per_day","amount":"1"}]}`, c.pe),
			admin47, nil, http.StatusUnprocessableEntity, []string{"unit_costs.event", "unit_costs.amount", "unit_costs.basis"}},
		{"unknown field in a unit cost", http.MethodPost, "/api/v1/programmes", fmt.Sprintf(`{"code":"nouveau","name":"x","action_code":"4.3","organisation_ids":[%d],
			"unit_costs":[{"basis":"per_month","amount":"1","per":"x"}]}`, c.pe), admin47, nil, http.StatusUnprocessableEntity, []string{"per"}},
		{"code changed", http.MethodPatch, "/api/v1/programmes/" + testProgramme, `{"code":"autre"}`, admin47, map[string]string{"If-Match": "*"}, http.StatusUnprocessableEntity, []string{"code"}},
		{"stale version", http.MethodPatch, "/api/v1/programmes/" + testProgramme, `{"name":"x"}`, admin47, map[string]string{"If-Match": `"1"`}, http.StatusPreconditionFailed, nil},
		{"no If-Match", http.MethodPatch, "/api/v1/programmes/" + testProgramme, `{"name":"x"}`, admin47, nil, http.StatusPreconditionRequired, nil},
		{"unknown programme", http.MethodPatch, "/api/v1/programmes/nope", `{"name":"x"}`, admin47, map[string]string{"If-Match": "*"}, http.StatusNotFound, nil},
		{"another département", http.MethodGet, "/api/v1/programmes/" + testProgramme, "", admin33, nil, http.StatusNotFound, nil},
		{"bad action filter", http.MethodGet, "/api/v1/programmes?action=x", "", agent47, nil, http.StatusUnprocessableEntity, []string{"action"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.accompanimentCounts()
			p := problem(t, h.do(request{method: tt.method, path: tt.path, body: tt.body, as: tt.as, headers: tt.headers}), tt.status)
			if tt.fields != nil {
				assert.ElementsMatch(t, tt.fields, keys(fields(p)))
			}
			assert.Equal(t, before, h.accompanimentCounts(), "nothing written")
		})
	}
}

// withoutTimes drops created_at and updated_at from a JSON object.
func withoutTimes(t *testing.T, body string) string {
	t.Helper()
	m := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	delete(m, "created_at")
	delete(m, "updated_at")
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}

func TestEnrolmentLifecycle(t *testing.T) {
	h := newHarness(t)
	c := newAccompanimentCase(h)
	body := fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"referent_id":%d,"orientation_id":%d,"started_on":"2020-10-01"}`,
		c.person, testProgramme, c.pe, c.peReferent, c.orientation)
	rec := h.do(request{method: http.MethodPost, path: "/api/v1/enrolments", as: agent47, body: body})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	e := decode[enrolmentBody](t, rec)
	assert.Equal(t, enrolmentPath(e.ID, ""), rec.Header().Get("Location"))
	assert.Equal(t, enrolmentBody{ID: e.ID, BeneficiaryID: c.person, ProgrammeCode: testProgramme, OrganisationID: c.pe,
		ReferentID: &c.peReferent, OrientationID: &c.orientation, StartedOn: "2020-10-01", Version: 1}, e)

	partner := c.partner(c.pe)
	res := c.patchEnrolment(e.ID, partner, `{"first_appointment_on":"2020-10-08"}`)
	require.Equal(t, http.StatusOK, res.Code, res.Body.String())
	rec = h.do(request{method: http.MethodPost, path: enrolmentPath(e.ID, "events"), as: agent47, body: `{"event":"diagnostic_interview","occurred_on":"2020-10-08"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
	rec = h.do(request{method: http.MethodPost, path: enrolmentPath(e.ID, "contracts"), as: partner,
		body: `{"type":"ppae","signed_on":"2020-10-20","starts_on":"2020-10-20","ends_on":"2021-04-19"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	contract := decode[struct {
		ID            int64  `json:"id"`
		BeneficiaryID int64  `json:"beneficiary_id"`
		Type          string `json:"type"`
	}](t, rec)
	assert.Equal(t, c.person, contract.BeneficiaryID)
	res = c.patchEnrolment(e.ID, agent47, `{"renewals":1}`)
	require.Equal(t, http.StatusUnprocessableEntity, res.Code, "an open 2020 enrolment has run past 12 months by today: %s", res.Body.String())
	res = c.patchEnrolment(e.ID, partner, `{"ended_on":"2021-03-31","exit_reason":"employment_fixed_term"}`)
	require.Equal(t, http.StatusOK, res.Code, res.Body.String())

	rec = h.do(request{method: http.MethodGet, path: enrolmentPath(e.ID, ""), as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"3"`, rec.Header().Get("ETag"))
	got := decode[enrolmentBody](t, rec)
	assert.Equal(t, "2020-10-08", *got.FirstAppointmentOn)
	assert.Equal(t, "2021-03-31", *got.EndedOn)
	assert.Equal(t, "employment_fixed_term", *got.ExitReason)

	for _, sub := range []string{"events", "contracts"} {
		rec = h.do(request{method: http.MethodGet, path: enrolmentPath(e.ID, sub), as: partner})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Len(t, decode[struct {
			Items []map[string]any `json:"items"`
		}](t, rec).Items, 1, sub)
	}

	// A closed enrolment is read-only but to an administrator's correction, audited as such.
	before := h.accompanimentCounts()
	problem(t, h.do(request{method: http.MethodPatch, path: enrolmentPath(e.ID, ""), as: agent47, body: `{"exit_reason":"training"}`,
		headers: map[string]string{"If-Match": `"3"`}}), http.StatusConflict)
	assert.Equal(t, before, h.accompanimentCounts())
	res = c.patchEnrolment(e.ID, admin47, `{"exit_reason":"employment_permanent"}`)
	require.Equal(t, http.StatusOK, res.Code, res.Body.String())
	var trail []string
	require.NoError(t, h.db.Model(&models.AuditEvent{}).Where("resource = 'enrolment' AND resource_id = ? AND action <> 'read'", strconv.FormatInt(e.ID, 10)).
		Order("id").Pluck("action || ' by ' || role", &trail).Error)
	assert.Equal(t, []string{"create by agent", "update by partner", "update by partner", "correct by admin"}, trail)

	// The lists: by beneficiary, programme and state, each item audited as read.
	second := c.enrol(c.enrolBody(c.second, "2020-11-02"))
	for query, want := range map[string][]int64{
		"":                                       {e.ID, second},
		"?open=true":                             {second},
		"?open=false":                            {e.ID},
		"?programme=" + testProgramme:            {e.ID, second},
		"?programme=paajm":                       nil,
		fmt.Sprintf("?beneficiary=%d", c.second): {second},
	} {
		_, auditBefore := h.counts()
		assert.Equal(t, want, h.listedEnrolments(agent47, query), query)
		_, auditAfter := h.counts()
		assert.Equal(t, auditBefore+int64(len(want)), auditAfter, "%s: each enrolment listed is audited", query)
	}
	for _, bad := range []string{"?open=yes", "?beneficiary=x", "?limit=0"} {
		problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/enrolments" + bad, as: agent47}), http.StatusBadRequest)
	}
}

func TestEnrolmentRulesAnswerTheirStatusAndWriteNothing(t *testing.T) {
	h := newHarness(t)
	c := newAccompanimentCase(h)
	today := time.Now().UTC()
	tomorrow := today.AddDate(0, 0, 1).Format(time.DateOnly)
	recent := today.AddDate(0, -1, 0).Format(time.DateOnly)

	open := c.enrol(fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"orientation_id":%d,"started_on":"2020-10-01"}`,
		c.person, testProgramme, c.pe, c.orientation))
	rec := h.do(request{method: http.MethodPost, path: enrolmentPath(open, "events"), as: admin47, body: `{"event":"diagnostic_interview","occurred_on":"2020-12-01"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	renewable := c.enrol(c.enrolBody(c.second, recent))
	closed := c.enrol(c.enrolBody(c.third, "2020-10-01"))
	res := c.patchEnrolment(closed, admin47, `{"ended_on":"2020-12-31","exit_reason":"moved"}`)
	require.Equal(t, http.StatusOK, res.Code, res.Body.String())
	// The programme holds 2 open enrolments for 3 places: a fourth person fills it.
	full := c.fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	c.enrol(c.enrolBody(full, "2020-10-01"))
	extra := c.fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	lateDecision := c.orient(extra, "2020-10-15")

	post := func(path, body string) request {
		return request{method: http.MethodPost, path: path, as: agent47, body: body}
	}
	patch := func(id int64, body string) request {
		return request{method: http.MethodPatch, path: enrolmentPath(id, ""), as: agent47, body: body, headers: map[string]string{"If-Match": "*"}}
	}
	enrolments := "/api/v1/enrolments"
	tests := []struct {
		name   string
		req    request
		status int
		fields []string
	}{
		{"unknown programme", post(enrolments, fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":"nope","organisation_id":%d,"started_on":"2020-10-01"}`, extra, c.pe)),
			http.StatusUnprocessableEntity, []string{"programme_code"}},
		{"organisation that does not provide the programme", post(enrolments, fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"started_on":"2020-10-01"}`,
			extra, testProgramme, c.ccas)), http.StatusUnprocessableEntity, []string{"organisation_id"}},
		{"referent of another organisation", post(enrolments, fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"referent_id":%d,"started_on":"2020-10-01"}`,
			extra, testProgramme, c.pe, c.ccasReferent)), http.StatusUnprocessableEntity, []string{"referent_id"}},
		{"orientation of another beneficiary", post(enrolments, fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"orientation_id":%d,"started_on":"2020-10-01"}`,
			extra, testProgramme, c.pe, c.orientation)), http.StatusUnprocessableEntity, []string{"orientation_id"}},
		{"start before the orientation decision", post(enrolments, fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"orientation_id":%d,"started_on":"2020-10-01"}`,
			extra, testProgramme, c.pe, lateDecision)), http.StatusUnprocessableEntity, []string{"started_on"}},
		{"start in the future and fields missing", post(enrolments, fmt.Sprintf(`{"beneficiary_id":%d,"started_on":%q}`, extra, tomorrow)),
			http.StatusUnprocessableEntity, []string{"programme_code", "organisation_id", "started_on"}},
		{"beneficiary of another territory", post(enrolments, c.enrolBody(c.far, "2020-10-01")), http.StatusNotFound, nil},
		{"second open enrolment in the programme", post(enrolments, c.enrolBody(c.person, "2020-11-01")), http.StatusConflict, nil},
		{"programme at capacity", post(enrolments, c.enrolBody(extra, "2020-11-01")), http.StatusConflict, nil},

		{"appointment before the start", patch(open, `{"first_appointment_on":"2020-09-30"}`), http.StatusUnprocessableEntity, []string{"first_appointment_on"}},
		{"exit before the start", patch(open, `{"ended_on":"2020-09-30","exit_reason":"moved"}`), http.StatusUnprocessableEntity, []string{"ended_on"}},
		{"exit before the last costed event", patch(open, `{"ended_on":"2020-11-30","exit_reason":"moved"}`), http.StatusUnprocessableEntity, []string{"ended_on"}},
		{"exit without its reason", patch(open, `{"ended_on":"2020-12-31"}`), http.StatusUnprocessableEntity, []string{"exit_reason"}},
		{"reason without the exit", patch(open, `{"exit_reason":"moved"}`), http.StatusUnprocessableEntity, []string{"ended_on"}},
		{"unknown reason, exit in the future", patch(open, fmt.Sprintf(`{"ended_on":%q,"exit_reason":"bored"}`, tomorrow)),
			http.StatusUnprocessableEntity, []string{"ended_on", "exit_reason"}},
		{"exit beyond 6 months without renewal", patch(open, `{"ended_on":"2021-04-02","exit_reason":"moved"}`), http.StatusUnprocessableEntity, []string{"ended_on"}},
		{"more renewals than the programme allows", patch(renewable, `{"renewals":2}`), http.StatusUnprocessableEntity, []string{"renewals"}},
		{"renewal of an enrolment already past its duration", patch(open, `{"renewals":1}`), http.StatusUnprocessableEntity, []string{"renewals"}},
		{"null and negative values", patch(open, `{"first_appointment_on":null,"renewals":-1}`), http.StatusUnprocessableEntity, []string{"first_appointment_on", "renewals"}},
		{"stale version", request{method: http.MethodPatch, path: enrolmentPath(open, ""), as: agent47, body: `{"first_appointment_on":"2020-10-02"}`,
			headers: map[string]string{"If-Match": `"7"`}}, http.StatusPreconditionFailed, nil},
		{"no If-Match", request{method: http.MethodPatch, path: enrolmentPath(open, ""), as: agent47, body: `{"first_appointment_on":"2020-10-02"}`},
			http.StatusPreconditionRequired, nil},
		{"change to a closed enrolment", patch(closed, `{"first_appointment_on":"2020-10-02"}`), http.StatusConflict, nil},

		{"event the programme does not cost", post(enrolmentPath(open, "events"), `{"event":"viability_evaluation","occurred_on":"2020-10-02"}`),
			http.StatusUnprocessableEntity, []string{"event"}},
		{"event before the start", post(enrolmentPath(open, "events"), `{"event":"diagnostic_interview","occurred_on":"2020-09-30"}`),
			http.StatusUnprocessableEntity, []string{"occurred_on"}},
		{"event on a closed enrolment", post(enrolmentPath(closed, "events"), `{"event":"diagnostic_interview","occurred_on":"2020-10-02"}`),
			http.StatusConflict, nil},

		{"contract signed before the orientation", post(enrolmentPath(open, "contracts"), `{"type":"cer","signed_on":"2020-09-13","starts_on":"2020-10-01","ends_on":"2021-03-31"}`),
			http.StatusUnprocessableEntity, []string{"signed_on"}},
		{"contract ending before it starts", post(enrolmentPath(open, "contracts"), `{"type":"cer_ti","signed_on":"2020-10-01","starts_on":"2020-10-01","ends_on":"2020-09-30"}`),
			http.StatusUnprocessableEntity, []string{"ends_on"}},
		{"unknown contract type", post(enrolmentPath(open, "contracts"), `{"type":"cdi","signed_on":"2020-10-01","starts_on":"2020-10-01","ends_on":"2021-09-30"}`),
			http.StatusUnprocessableEntity, []string{"type"}},
		{"contract on a closed enrolment", post(enrolmentPath(closed, "contracts"), `{"type":"cer","signed_on":"2020-10-02","starts_on":"2020-10-02","ends_on":"2020-12-31"}`),
			http.StatusConflict, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.accompanimentCounts()
			p := problem(t, h.do(tt.req), tt.status)
			if tt.fields != nil {
				assert.ElementsMatch(t, tt.fields, keys(fields(p)))
			}
			assert.Equal(t, before, h.accompanimentCounts(), "nothing written")
		})
	}

	// What the rules allow: the renewal of a recent enrolment, an exit at the end of the
	// renewed period, and an administrator's event on a closed enrolment (a correction).
	res = c.patchEnrolment(renewable, agent47, `{"renewals":1}`)
	require.Equal(t, http.StatusOK, res.Code, res.Body.String())
	res = c.patchEnrolment(open, agent47, `{"ended_on":"2021-04-01","exit_reason":"training"}`)
	require.Equal(t, http.StatusOK, res.Code, "exactly 6 months: %s", res.Body.String())
	rec = h.do(request{method: http.MethodPost, path: enrolmentPath(closed, "events"), as: admin47, body: `{"event":"diagnostic_interview","occurred_on":"2020-10-02"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var corrections int64
	require.NoError(t, h.db.Model(&models.AuditEvent{}).Where("resource = 'enrolment' AND resource_id = ? AND action = 'correct'", strconv.FormatInt(closed, 10)).
		Count(&corrections).Error)
	assert.Equal(t, int64(1), corrections)
}

func TestEnrolmentAccess(t *testing.T) {
	h := newHarness(t)
	c := newAccompanimentCase(h)
	// An enrolment in 47-NERAC at the agency, and one in 47-AGEN1 at the CCAS.
	require.Equal(t, http.StatusOK, c.patchProgrammeOrganisations(c.pe, c.ccas))
	far := c.enrol(fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"orientation_id":%d,"started_on":"2020-10-01"}`,
		c.far, testProgramme, c.pe, c.farOrientation))
	atCCAS := c.enrol(fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"started_on":"2020-10-01"}`, c.person, testProgramme, c.ccas))
	pePartner, ccasPartner := c.partner(c.pe), c.partner(c.ccas)
	contract := func(kind string) string {
		return fmt.Sprintf(`{"type":%q,"signed_on":"2020-10-05","starts_on":"2020-10-05","ends_on":"2021-04-04"}`, kind)
	}
	tests := []struct {
		name   string
		as     auth.Principal
		id     int64
		read   int // GET of the enrolment, its events and contracts
		writes map[string]int
	}{
		{"manager", manager47, atCCAS, http.StatusForbidden, map[string]int{"patch": http.StatusForbidden, "event": http.StatusForbidden, "cer": http.StatusForbidden}},
		{"agent of another territory", agent47, far, http.StatusNotFound, map[string]int{"patch": http.StatusNotFound, "event": http.StatusNotFound, "cer": http.StatusNotFound}},
		{"admin of another département", admin33, far, http.StatusNotFound, map[string]int{"patch": http.StatusNotFound, "event": http.StatusNotFound, "cer": http.StatusNotFound}},
		{"partner of another organisation", ccasPartner, far, http.StatusNotFound, map[string]int{"patch": http.StatusNotFound, "ppae": http.StatusNotFound}},
		{"partner, changes it may not make", pePartner, far, http.StatusOK,
			map[string]int{"renewals": http.StatusForbidden, "event": http.StatusForbidden, "cer": http.StatusForbidden, "cer_ti": http.StatusForbidden}},
		{"partner of the organisation", pePartner, far, http.StatusOK, map[string]int{"patch": http.StatusOK, "ppae": http.StatusCreated}},
		{"agent of the territory", agent47, atCCAS, http.StatusOK, map[string]int{"patch": http.StatusOK, "event": http.StatusCreated, "cer": http.StatusCreated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sub := range []string{"", "events", "contracts"} {
				rec := h.do(request{method: http.MethodGet, path: enrolmentPath(tt.id, sub), as: tt.as})
				if tt.read == http.StatusOK {
					assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				} else {
					problem(t, rec, tt.read)
				}
			}
			for what, status := range tt.writes {
				var req request
				switch what {
				case "patch":
					req = request{method: http.MethodPatch, path: enrolmentPath(tt.id, ""), body: `{"first_appointment_on":"2020-10-05"}`, headers: map[string]string{"If-Match": "*"}}
				case "renewals":
					req = request{method: http.MethodPatch, path: enrolmentPath(tt.id, ""), body: `{"renewals":1}`, headers: map[string]string{"If-Match": "*"}}
				case "event":
					req = request{method: http.MethodPost, path: enrolmentPath(tt.id, "events"), body: `{"event":"diagnostic_interview","occurred_on":"2020-10-05"}`}
				default:
					req = request{method: http.MethodPost, path: enrolmentPath(tt.id, "contracts"), body: contract(what)}
				}
				req.as = tt.as
				before := h.accompanimentCounts()
				rec := h.do(req)
				if status >= 400 {
					problem(t, rec, status)
					assert.Equal(t, before, h.accompanimentCounts(), "%s: nothing written", what)
				} else {
					assert.Equal(t, status, rec.Code, "%s: %s", what, rec.Body.String())
				}
			}
		})
	}

	lists := map[string]auth.Principal{"agent": agent47, "partner": pePartner, "other partner": c.partner(999999), "admin": admin47}
	want := map[string][]int64{"agent": {atCCAS}, "partner": {far}, "other partner": nil, "admin": {far, atCCAS}}
	for who, as := range lists {
		assert.Equal(t, want[who], h.listedEnrolments(as, "?programme="+testProgramme), who)
	}
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/enrolments", as: manager47}), http.StatusForbidden)
	before := h.accompanimentCounts()
	for _, who := range []auth.Principal{manager47, pePartner} {
		problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/enrolments", as: who, body: c.enrolBody(c.second, "2020-10-01")}), http.StatusForbidden)
	}
	assert.Equal(t, before, h.accompanimentCounts())
}

// patchProgrammeOrganisations makes the test programme provided by orgs.
func (c accompanimentCase) patchProgrammeOrganisations(orgs ...int64) int {
	body := `{"organisation_ids":[`
	for i, o := range orgs {
		if i > 0 {
			body += ","
		}
		body += strconv.FormatInt(o, 10)
	}
	rec := c.h.do(request{method: http.MethodPatch, path: "/api/v1/programmes/" + testProgramme, as: admin47, body: body + "]}",
		headers: map[string]string{"If-Match": "*"}})
	return rec.Code
}

func TestTimelineShowsTheAccompaniment(t *testing.T) {
	h := newHarness(t)
	c := newAccompanimentCase(h)
	id := c.enrol(fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"referent_id":%d,"orientation_id":%d,"started_on":"2020-09-28"}`,
		c.person, testProgramme, c.pe, c.peReferent, c.orientation))
	for _, step := range []request{
		{method: http.MethodPost, path: enrolmentPath(id, "events"), body: `{"event":"diagnostic_interview","occurred_on":"2020-10-05"}`},
		{method: http.MethodPatch, path: enrolmentPath(id, ""), body: `{"first_appointment_on":"2020-10-05"}`, headers: map[string]string{"If-Match": "*"}},
		{method: http.MethodPost, path: enrolmentPath(id, "contracts"), body: `{"type":"cer","signed_on":"2020-10-12","starts_on":"2020-10-12","ends_on":"2021-04-11"}`},
		{method: http.MethodPatch, path: enrolmentPath(id, ""), body: `{"ended_on":"2021-02-26","exit_reason":"training"}`, headers: map[string]string{"If-Match": "*"}},
	} {
		step.as = agent47
		rec := h.do(step)
		require.Less(t, rec.Code, 300, rec.Body.String())
	}
	rec := h.do(request{method: http.MethodGet, path: fmt.Sprintf("/api/v1/beneficiaries/%d/timeline", c.person), as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	tl := decode[struct {
		Events []struct {
			Date   string         `json:"date"`
			Type   string         `json:"type"`
			Detail map[string]any `json:"detail"`
		} `json:"events"`
	}](t, rec)
	var got []string
	for _, e := range tl.Events {
		got = append(got, e.Date+" "+e.Type)
	}
	assert.Equal(t, []string{
		"2020-09-01 rights_opened",
		"2020-09-14 orientation_decided",
		"2020-09-28 enrolment_started",
		"2020-10-05 enrolment_event",
		"2020-10-05 first_appointment",
		"2020-10-12 contract_signed",
		"2021-02-26 enrolment_ended",
	}, got)
	require.Len(t, tl.Events, 7)
	assert.Equal(t, testProgramme, tl.Events[2].Detail["programme_code"])
	assert.Equal(t, "4.2", tl.Events[2].Detail["action_code"])
	assert.Equal(t, "Marie Dupont", tl.Events[2].Detail["referent"])
	assert.Equal(t, "diagnostic_interview", tl.Events[3].Detail["event"])
	assert.Equal(t, "cer", tl.Events[5].Detail["type"])
	assert.Equal(t, "2021-04-11", tl.Events[5].Detail["ends_on"])
	assert.Equal(t, "training", tl.Events[6].Detail["exit_reason"])
}
