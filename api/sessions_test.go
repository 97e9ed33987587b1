package api_test

import (
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
	"parcours/services/demo"
)

type sessionBody struct {
	ID                 int64     `json:"id"`
	TerritoryCode      string    `json:"territory_code"`
	SiteOrganisationID int64     `json:"site_organisation_id"`
	StartsAt           time.Time `json:"starts_at"`
	Capacity           int       `json:"capacity"`
	Convoked           int       `json:"convoked"`
	Version            int       `json:"version"`
}

type convocationBody struct {
	ID              int64   `json:"id"`
	BeneficiaryID   int64   `json:"beneficiary_id"`
	SentOn          string  `json:"sent_on"`
	Attendance      *string `json:"attendance"`
	CatchUpOn       *string `json:"catch_up_on"`
	CatchUpAttended *bool   `json:"catch_up_attended"`
	FormalNotice    *struct {
		ID      int64   `json:"id"`
		Outcome *string `json:"outcome"`
		Version int     `json:"version"`
	} `json:"formal_notice"`
	Version int `json:"version"`
}

type summaryBody struct {
	SessionID           int64          `json:"session_id"`
	Convoked            int            `json:"convoked"`
	Present             int            `json:"present"`
	Excused             int            `json:"excused"`
	NoShow              int            `json:"no_show"`
	CaughtUp            int            `json:"caught_up"`
	FormalNotices       int            `json:"formal_notices"`
	OrientationsByRoute map[string]int `json:"orientations_by_route"`
}

type listOf[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// organisationID is the id of a demo organisation.
func (h *harness) organisationID(name string) int64 {
	h.t.Helper()
	var o models.Organisation
	require.NoError(h.t, h.db.Where("name = ?", name).Take(&o).Error)
	return o.ID
}

func partnerOf(org int64) auth.Principal {
	return auth.Principal{Subject: "partner", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org, 10)}
}

func agentOf(territory string) auth.Principal {
	return auth.Principal{Subject: "agent", Role: auth.RoleAgent, Departement: "47", Territories: []string{territory}}
}

// demoSession finds the platform of 13 December 2019 through the list.
func (h *harness) demoSession() sessionBody {
	h.t.Helper()
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/orientation-sessions?territory=47-AGEN1&from=2019-12-13&to=2019-12-13", as: manager47})
	require.Equal(h.t, http.StatusOK, rec.Code, rec.Body.String())
	list := decode[listOf[sessionBody]](h.t, rec)
	require.Len(h.t, list.Items, 1)
	return list.Items[0]
}

// tableCounts counts the rows of tables, to prove that a refused request wrote nothing.
func (h *harness) tableCounts(tables ...string) map[string]int64 {
	h.t.Helper()
	out := map[string]int64{}
	for _, table := range tables {
		var n int64
		require.NoError(h.t, h.db.Table(table).Count(&n).Error)
		out[table] = n
	}
	return out
}

var platformTables = []string{"orientation_sessions", "convocations", "formal_notices", "audit_events"}

func TestTheFirstPlatformOfTheDocument(t *testing.T) {
	h := newHarness(t)
	s := h.demoSession()
	assert.Equal(t, "2019-12-13T08:00:00Z", s.StartsAt.Format(time.RFC3339))
	assert.Equal(t, h.organisationID(demo.PoleEmploiAgen), s.SiteOrganisationID)
	assert.Equal(t, 10, s.Convoked)

	want := summaryBody{SessionID: s.ID, Convoked: 10, Present: 7, Excused: 0, NoShow: 3, CaughtUp: 2, FormalNotices: 1,
		OrientationsByRoute: map[string]int{"professionnelle": 4, "socio_professionnelle": 2, "sociale": 1}}
	for _, as := range []auth.Principal{admin47, manager47, agent47, partnerOf(s.SiteOrganisationID)} {
		rec := h.do(request{method: http.MethodGet, path: fmt.Sprintf("/api/v1/orientation-sessions/%d/summary", s.ID), as: as})
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", as.Role, rec.Body.String())
		assert.Equal(t, want, decode[summaryBody](t, rec), as.Role)
	}

	before := h.tableCounts("audit_events")
	rec := h.do(request{method: http.MethodGet, path: fmt.Sprintf("/api/v1/orientation-sessions/%d/convocations?limit=4", s.ID), as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	page := decode[listOf[convocationBody]](t, rec)
	assert.Len(t, page.Items, 4)
	assert.NotNil(t, page.NextCursor)
	assert.Equal(t, before["audit_events"]+4, h.tableCounts("audit_events")["audit_events"], "each convocation read is audited")

	var all []convocationBody
	path := fmt.Sprintf("/api/v1/orientation-sessions/%d/convocations?limit=4", s.ID)
	for {
		page := decode[listOf[convocationBody]](t, h.do(request{method: http.MethodGet, path: path, as: admin47}))
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			break
		}
		path = fmt.Sprintf("/api/v1/orientation-sessions/%d/convocations?limit=4&cursor=%s", s.ID, *page.NextCursor)
	}
	require.Len(t, all, 10)
	var notices, caughtUp int
	for _, c := range all {
		assert.Equal(t, "2019-12-02", c.SentOn)
		if c.FormalNotice != nil {
			notices++
			assert.Equal(t, "no_show", *c.Attendance)
		}
		if c.CatchUpAttended != nil && *c.CatchUpAttended {
			caughtUp++
		}
	}
	assert.Equal(t, 1, notices)
	assert.Equal(t, 2, caughtUp)
}

func TestPlatformAccessRules(t *testing.T) {
	h := newHarness(t)
	s := h.demoSession()
	plie := h.organisationID("PLIE de l'Agenais")
	paths := map[string]string{
		"session":      fmt.Sprintf("/api/v1/orientation-sessions/%d", s.ID),
		"summary":      fmt.Sprintf("/api/v1/orientation-sessions/%d/summary", s.ID),
		"convocations": fmt.Sprintf("/api/v1/orientation-sessions/%d/convocations", s.ID),
	}
	tests := []struct {
		name string
		as   auth.Principal
		want map[string]int
	}{
		{"an agent of another territory", agentOf("47-NERAC"), map[string]int{"session": 404, "summary": 404, "convocations": 404}},
		{"a partner of another organisation", partnerOf(plie), map[string]int{"session": 404, "summary": 404, "convocations": 404}},
		{"a partner with a malformed organisation", partner47, map[string]int{"session": 404, "summary": 404, "convocations": 404}},
		{"an admin of another département", admin33, map[string]int{"session": 404, "summary": 404, "convocations": 404}},
		{"a manager", manager47, map[string]int{"session": 200, "summary": 200, "convocations": 403}},
		{"the partner of the site", partnerOf(s.SiteOrganisationID), map[string]int{"session": 200, "summary": 200, "convocations": 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.tableCounts("audit_events")
			for what, path := range paths {
				rec := h.do(request{method: http.MethodGet, path: path, as: tt.as})
				assert.Equal(t, tt.want[what], rec.Code, "%s: %s", what, rec.Body.String())
			}
			if tt.want["convocations"] != http.StatusOK {
				assert.Equal(t, before, h.tableCounts("audit_events"), "a refused read is not a read")
			}
		})
	}

	list := decode[listOf[sessionBody]](t, h.do(request{method: http.MethodGet, path: "/api/v1/orientation-sessions", as: agentOf("47-NERAC")}))
	assert.Empty(t, list.Items, "an agent lists its territories' sessions only")
	list = decode[listOf[sessionBody]](t, h.do(request{method: http.MethodGet, path: "/api/v1/orientation-sessions", as: partnerOf(plie)}))
	assert.Empty(t, list.Items, "a partner lists the sessions it hosts only")

	var convocation models.Convocation
	require.NoError(t, h.db.Where("session_id = ?", s.ID).Order("id").Take(&convocation).Error)
	before := h.tableCounts(platformTables...)
	for _, r := range []struct {
		as   auth.Principal
		want int
	}{{agentOf("47-NERAC"), 404}, {partnerOf(plie), 404}, {manager47, 403}} {
		rec := h.do(request{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/convocations/%d", convocation.ID), as: r.as,
			body: `{"attendance":"excused"}`, headers: map[string]string{"If-Match": "*"}})
		problem(t, rec, r.want)
	}
	assert.Equal(t, before, h.tableCounts(platformTables...))

	for _, q := range []string{"from=13-12-2019", "from=2019-12-14&to=2019-12-13", "limit=0"} {
		problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/orientation-sessions?" + q, as: admin47}), http.StatusBadRequest)
	}
}

func TestAPlatformOverHTTP(t *testing.T) {
	h := newHarness(t)
	site := h.organisationID(demo.PoleEmploiAgen)
	var people []models.Beneficiary
	require.NoError(t, h.db.Order("id").Limit(3).Find(&people).Error)
	require.Len(t, people, 3)
	agent := agentOf("47-AGEN1")

	create := func(startsAt time.Time, capacity int) sessionBody {
		t.Helper()
		rec := h.do(request{method: http.MethodPost, path: "/api/v1/orientation-sessions", as: agent, body: fmt.Sprintf(
			`{"territory_code":"47-AGEN1","site_organisation_id":%d,"starts_at":%q,"capacity":%d,
			  "employment_professional":"Conseillère emploi","social_professional":"Assistante sociale"}`,
			site, startsAt.Format(time.RFC3339), capacity)})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
		return decode[sessionBody](t, rec)
	}
	future := create(time.Now().Add(30*24*time.Hour).Truncate(time.Second), 1)
	past := create(time.Date(2020, 1, 10, 8, 0, 0, 0, time.UTC), 5)
	convoke := func(session, beneficiary int64, sentOn string, as auth.Principal) *httptest.ResponseRecorder {
		return h.do(request{method: http.MethodPost, path: fmt.Sprintf("/api/v1/orientation-sessions/%d/convocations", session),
			as: as, body: fmt.Sprintf(`{"beneficiary_id":%d,"sent_on":%q}`, beneficiary, sentOn)})
	}
	today := time.Now().Format(time.DateOnly)
	require.Equal(t, http.StatusCreated, convoke(future.ID, people[0].ID, today, agent).Code)

	before := h.tableCounts(platformTables...)
	refused := []struct {
		name  string
		rec   func() *httptest.ResponseRecorder
		want  int
		field string
	}{
		{"a full session", func() *httptest.ResponseRecorder { return convoke(future.ID, people[1].ID, today, agent) }, 409, ""},
		{"already convoked to an open session", func() *httptest.ResponseRecorder { return convoke(past.ID, people[0].ID, "2020-01-02", agent) }, 409, ""},
		{"sent after the session", func() *httptest.ResponseRecorder { return convoke(past.ID, people[1].ID, "2020-01-11", agent) }, 422, "sent_on"},
		{"an unknown beneficiary", func() *httptest.ResponseRecorder { return convoke(past.ID, 999999, "2020-01-02", agent) }, 404, ""},
		{"a session of another territory", func() *httptest.ResponseRecorder {
			return convoke(past.ID, people[1].ID, "2020-01-02", agentOf("47-NERAC"))
		}, 404, ""},
		{"a partner", func() *httptest.ResponseRecorder {
			return convoke(past.ID, people[1].ID, "2020-01-02", partnerOf(site))
		}, 403, ""},
		{"a missing date and a null id", func() *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPost, path: fmt.Sprintf("/api/v1/orientation-sessions/%d/convocations", past.ID),
				as: agent, body: `{"beneficiary_id":null}`})
		}, 422, "sent_on"},
		{"a session in another territory for an agent", func() *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPost, path: "/api/v1/orientation-sessions", as: agent, body: fmt.Sprintf(
				`{"territory_code":"47-NERAC","site_organisation_id":%d,"starts_at":"2020-01-10T09:00:00+01:00","capacity":3,
				  "employment_professional":"a","social_professional":"b"}`, site)})
		}, 403, ""},
		{"a session with a malformed instant", func() *httptest.ResponseRecorder {
			return h.do(request{method: http.MethodPost, path: "/api/v1/orientation-sessions", as: agent, body: fmt.Sprintf(
				`{"territory_code":"47-AGEN1","site_organisation_id":%d,"starts_at":"2020-01-10 09:00","capacity":3,
				  "employment_professional":"a","social_professional":"b"}`, site)})
		}, 422, "starts_at"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			p := problem(t, tt.rec(), tt.want)
			if tt.field != "" {
				assert.Contains(t, fields(p), tt.field)
			}
			assert.Equal(t, before, h.tableCounts(platformTables...), "a refused request writes nothing")
		})
	}

	rec := convoke(past.ID, people[1].ID, "2020-01-02", agent)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	c := decode[convocationBody](t, rec)
	patch := func(path, body, ifMatch string, as auth.Principal) *httptest.ResponseRecorder {
		headers := map[string]string{}
		if ifMatch != "" {
			headers["If-Match"] = ifMatch
		}
		return h.do(request{method: http.MethodPatch, path: path, body: body, as: as, headers: headers})
	}
	attendance := fmt.Sprintf("/api/v1/convocations/%d", c.ID)
	before = h.tableCounts(platformTables...)
	problem(t, patch(attendance, `{"attendance":"no_show"}`, "", agent), http.StatusPreconditionRequired)
	problem(t, patch(attendance, `{"attendance":"no_show"}`, `"7"`, agent), http.StatusPreconditionFailed)
	problem(t, patch(attendance, `{"attendance":"late"}`, `"1"`, agent), http.StatusUnprocessableEntity)
	problem(t, patch(attendance, `{}`, `"1"`, agent), http.StatusUnprocessableEntity)
	problem(t, h.do(request{method: http.MethodPost, path: attendance + "/formal-notice", as: agent,
		body: `{"issued_on":"2020-01-20","response_deadline":"2020-02-20"}`}), http.StatusConflict)
	assert.Equal(t, before, h.tableCounts(platformTables...))

	rec = patch(attendance, `{"attendance":"no_show"}`, `"1"`, partnerOf(site))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	assert.Equal(t, "no_show", *decode[convocationBody](t, rec).Attendance)

	rec = h.do(request{method: http.MethodPost, path: attendance + "/catch-up", as: agent, body: `{"date":"2020-01-09"}`})
	assert.Contains(t, fields(problem(t, rec, http.StatusUnprocessableEntity)), "date")
	rec = h.do(request{method: http.MethodPost, path: attendance + "/catch-up", as: agent, body: `{"date":"2020-01-17","attended":false}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	caught := decode[convocationBody](t, rec)
	assert.Equal(t, "2020-01-17", *caught.CatchUpOn)
	assert.False(t, *caught.CatchUpAttended)

	rec = h.do(request{method: http.MethodPost, path: attendance + "/formal-notice", as: agent,
		body: `{"issued_on":"2020-01-20","response_deadline":"2020-01-19"}`})
	assert.Contains(t, fields(problem(t, rec, http.StatusUnprocessableEntity)), "response_deadline")
	rec = h.do(request{method: http.MethodPost, path: attendance + "/formal-notice", as: agent,
		body: `{"issued_on":"2020-01-20","response_deadline":"2020-02-20"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	notice := decode[struct {
		ID      int64 `json:"id"`
		Version int   `json:"version"`
	}](t, rec)
	problem(t, h.do(request{method: http.MethodPost, path: attendance + "/formal-notice", as: agent,
		body: `{"issued_on":"2020-01-21","response_deadline":"2020-02-20"}`}), http.StatusConflict)

	noticePath := fmt.Sprintf("/api/v1/formal-notices/%d", notice.ID)
	problem(t, patch(noticePath, `{"outcome":"answered"}`, `"1"`, partnerOf(site)), http.StatusForbidden)
	problem(t, patch(noticePath, `{"outcome":"answered"}`, `"2"`, agent), http.StatusPreconditionFailed)
	rec = patch(noticePath, `{"outcome":"unanswered"}`, `"1"`, agent)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))

	rec = h.do(request{method: http.MethodGet, path: fmt.Sprintf("/api/v1/orientation-sessions/%d/summary", past.ID), as: manager47})
	assert.Equal(t, summaryBody{SessionID: past.ID, Convoked: 1, NoShow: 1, FormalNotices: 1,
		OrientationsByRoute: map[string]int{"professionnelle": 0, "socio_professionnelle": 0, "sociale": 0}}, decode[summaryBody](t, rec))

	var trail []string
	require.NoError(t, h.db.Model(&models.AuditEvent{}).Where("actor = 'agent' AND action <> 'read'").Order("id").
		Pluck("action || ' ' || resource", &trail).Error)
	assert.Equal(t, []string{"create orientation_session", "create orientation_session", "create convocation", "create convocation",
		"update convocation", "create formal_notice", "update formal_notice"}, trail)
}
