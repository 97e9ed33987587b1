package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
	"parcours/services/indicators"
	"parcours/services/orientations"
	"parcours/services/orientations/pathwaytest"
)

// withOrientationIndicators registers the orientation indicators in r, as serve does.
func withOrientationIndicators(r *indicators.Registry) *indicators.Registry {
	orientations.RegisterIndicators(r)
	return r
}

type orientationBody struct {
	ID               int64   `json:"id"`
	BeneficiaryID    int64   `json:"beneficiary_id"`
	Route            string  `json:"route"`
	OrganisationName string  `json:"organisation_name"`
	ReferentName     *string `json:"referent_name"`
	DecidedOn        string  `json:"decided_on"`
	NotifiedOn       *string `json:"notified_on"`
	Current          bool    `json:"current"`
	SupersededOn     *string `json:"superseded_on"`
}

// orientationCase is a beneficiary of 47-AGEN1 convoked to a session at Pôle emploi Agen,
// another one convoked too, a CCAS, and their referents, on top of the demo data.
type orientationCase struct {
	fx                            *pathwaytest.Fixture
	person, other                 int64
	pe, ccas                      int64
	peReferent, ccasReferent      int64
	convocation, otherConvocation int64
}

func newOrientationCase(h *harness) orientationCase {
	fx := pathwaytest.New(h.t, h.db)
	c := orientationCase{fx: fx}
	c.person = fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	c.other = fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	c.pe = fx.Organisation("Pôle emploi Agen (test)", "pole_emploi")
	c.ccas = fx.Organisation("CCAS d'Agen (test)", "ccas")
	c.peReferent = fx.Referent(c.pe, "Marie", "Dupont", true)
	c.ccasReferent = fx.Referent(c.ccas, "Paul", "Martin", true)
	session := fx.Session("47-AGEN1", c.pe, time.Date(2020, 9, 14, 7, 0, 0, 0, time.UTC))
	c.convocation = fx.Convocation(session, c.person, "2020-09-05", "present")
	c.otherConvocation = fx.Convocation(session, c.other, "2020-09-05", "present")
	return c
}

func (c orientationCase) partner(org int64) auth.Principal {
	return auth.Principal{Subject: "pe-client", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org, 10)}
}

func (c orientationCase) path(id int64, what string) string {
	return fmt.Sprintf("/api/v1/beneficiaries/%d/%s", id, what)
}

// platformBody is a valid platform decision for c.person.
func (c orientationCase) platformBody(decidedOn string) string {
	return fmt.Sprintf(`{"route":"professionnelle","organisation_id":%d,"referent_id":%d,"decided_on":%q,"notified_on":null,"origin":"platform","convocation_id":%d}`,
		c.pe, c.peReferent, decidedOn, c.convocation)
}

func (h *harness) orientationCount() int64 {
	h.t.Helper()
	var n int64
	require.NoError(h.t, h.db.Table("orientations").Count(&n).Error)
	return n
}

func TestRecordAndListOrientationDecisions(t *testing.T) {
	h := newHarness(t)
	c := newOrientationCase(h)
	rec := h.do(request{method: http.MethodPost, path: c.path(c.person, "orientations"), as: agent47, body: c.platformBody("2020-09-14")})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	first := decode[orientationBody](t, rec)
	assert.Equal(t, c.person, first.BeneficiaryID)
	assert.Equal(t, "Pôle emploi Agen (test)", first.OrganisationName)
	assert.Equal(t, "Marie Dupont", *first.ReferentName)
	assert.True(t, first.Current)
	assert.Nil(t, first.NotifiedOn)

	body := fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"referent_id":%d,"decided_on":"2020-11-02","notified_on":"2020-11-04","origin":"individual"}`, c.ccas, c.ccasReferent)
	rec = h.do(request{method: http.MethodPost, path: c.path(c.person, "orientations"), as: admin47, body: body})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	second := decode[orientationBody](t, rec)

	rec = h.do(request{method: http.MethodGet, path: c.path(c.person, "orientations"), as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	list := decode[struct {
		Items      []orientationBody `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}](t, rec)
	require.Len(t, list.Items, 2)
	assert.Nil(t, list.NextCursor)
	assert.Equal(t, second.ID, list.Items[0].ID)
	assert.True(t, list.Items[0].Current)
	assert.Equal(t, "2020-11-04", *list.Items[0].NotifiedOn)
	assert.Equal(t, first.ID, list.Items[1].ID)
	assert.False(t, list.Items[1].Current)
	assert.Equal(t, "2020-11-02", *list.Items[1].SupersededOn)

	rec = h.do(request{method: http.MethodGet, path: c.path(c.person, "orientations") + "?limit=1", as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	page := decode[struct {
		Items      []orientationBody `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}](t, rec)
	require.NotNil(t, page.NextCursor)
	rec = h.do(request{method: http.MethodGet, path: c.path(c.person, "orientations") + "?limit=1&cursor=" + *page.NextCursor, as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, first.ID, decode[struct {
		Items []orientationBody `json:"items"`
	}](t, rec).Items[0].ID)
}

func TestOrientationDecisionRulesAnswer422AndWriteNothing(t *testing.T) {
	h := newHarness(t)
	c := newOrientationCase(h)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	tests := []struct {
		name   string
		body   string
		fields []string
	}{
		{"empty object", `{}`, []string{"route", "origin", "organisation_id", "decided_on"}},
		{"wrong enums and a bad date", fmt.Sprintf(`{"route":"emploi","organisation_id":%d,"decided_on":"14/09/2020","origin":"phone"}`, c.pe),
			[]string{"route", "origin", "decided_on"}},
		{"organisation id as a string", `{"route":"sociale","organisation_id":"3","decided_on":"2020-09-14","origin":"individual"}`, []string{"organisation_id"}},
		{"unknown field", `{"route":"sociale","organisation_id":1,"decided_on":"2020-09-14","origin":"individual","why":"x"}`, []string{"why"}},
		{"null where a value is needed", `{"route":null,"organisation_id":null,"decided_on":null,"origin":null}`, []string{"route", "origin", "organisation_id", "decided_on"}},
		{"before the rights opened", fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"decided_on":"2020-08-31","origin":"individual"}`, c.ccas), []string{"decided_on"}},
		{"in the future", fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"decided_on":%q,"origin":"individual"}`, c.ccas, tomorrow), []string{"decided_on"}},
		{"notified before decided", fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"decided_on":"2020-09-14","notified_on":"2020-09-13","origin":"individual"}`, c.ccas), []string{"notified_on"}},
		{"platform without convocation", fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"decided_on":"2020-09-14","origin":"platform"}`, c.ccas), []string{"convocation_id"}},
		{"unknown organisation", `{"route":"sociale","organisation_id":999999,"decided_on":"2020-09-14","origin":"individual"}`, []string{"organisation_id"}},
		{"referent of another organisation", fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"referent_id":%d,"decided_on":"2020-09-14","origin":"individual"}`, c.ccas, c.peReferent), []string{"referent_id"}},
		{"convocation of another beneficiary", fmt.Sprintf(`{"route":"professionnelle","organisation_id":%d,"decided_on":"2020-09-14","origin":"platform","convocation_id":%d}`, c.pe, c.otherConvocation), []string{"convocation_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, auditBefore := h.counts()
			before := h.orientationCount()
			p := problem(t, h.do(request{method: http.MethodPost, path: c.path(c.person, "orientations"), as: admin47, body: tt.body}), http.StatusUnprocessableEntity)
			assert.ElementsMatch(t, tt.fields, keys(fields(p)))
			_, auditAfter := h.counts()
			assert.Equal(t, auditBefore, auditAfter, "a refused decision writes no audit row")
			assert.Equal(t, before, h.orientationCount(), "nor a decision")
		})
	}
	problem(t, h.do(request{method: http.MethodPost, path: c.path(c.person, "orientations"), as: admin47, body: `{"route":`}), http.StatusBadRequest)
	problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/beneficiaries/abc/orientations", as: admin47, body: c.platformBody("2020-09-14")}), http.StatusNotFound)
}

func TestOrientationAndTimelineAccess(t *testing.T) {
	h := newHarness(t)
	c := newOrientationCase(h)
	nerac := auth.Principal{Subject: "agent-nerac", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-NERAC"}}
	unconvoked := c.fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	individual := fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"decided_on":"2020-09-20","origin":"individual"}`, c.ccas)
	tests := []struct {
		name    string
		as      auth.Principal
		subject int64
		body    string
		post    int // status of the decision; reads answer 200 when it is 201 or 403
	}{
		{"manager", manager47, c.person, individual, http.StatusForbidden},
		{"agent of another territory", nerac, c.person, individual, http.StatusNotFound},
		{"admin of another département", admin33, c.person, individual, http.StatusNotFound},
		{"partner, beneficiary it may not see", c.partner(c.pe), unconvoked, individual, http.StatusNotFound},
		{"partner without a convocation", c.partner(c.pe), c.person, individual, http.StatusForbidden},
		{"partner of the session's site", c.partner(c.pe), c.person, c.platformBody("2020-09-20"), http.StatusCreated},
		{"agent of the territory", agent47, c.person, individual, http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.orientationCount()
			rec := h.do(request{method: http.MethodPost, path: c.path(tt.subject, "orientations"), as: tt.as, body: tt.body})
			if tt.post != http.StatusCreated {
				problem(t, rec, tt.post)
				assert.Equal(t, before, h.orientationCount())
			} else {
				require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			}
			read := tt.post
			if read == http.StatusCreated || (read == http.StatusForbidden && tt.as.Role == auth.RolePartner) {
				read = http.StatusOK
			}
			for _, what := range []string{"orientations", "timeline"} {
				rec := h.do(request{method: http.MethodGet, path: c.path(tt.subject, what), as: tt.as})
				if read == http.StatusOK {
					assert.Equal(t, http.StatusOK, rec.Code, "%s: %s", what, rec.Body.String())
				} else {
					problem(t, rec, read)
				}
			}
		})
	}
}

func TestTimelineThroughTheAPI(t *testing.T) {
	h := newHarness(t)
	c := newOrientationCase(h)
	session := c.fx.Session("47-AGEN1", c.pe, time.Date(2020, 9, 21, 7, 0, 0, 0, time.UTC))
	absent := c.fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	convocation := c.fx.Convocation(session, absent, "2020-09-10", "no_show")
	c.fx.CatchUp(convocation, "2020-09-28", true)
	c.fx.FormalNotice(convocation, absent, "2020-09-22", "2020-10-02", "")
	body := fmt.Sprintf(`{"route":"professionnelle","organisation_id":%d,"referent_id":%d,"decided_on":"2020-09-28","notified_on":"2020-09-30","origin":"platform","convocation_id":%d}`,
		c.pe, c.peReferent, convocation)
	rec := h.do(request{method: http.MethodPost, path: c.path(absent, "orientations"), as: agent47, body: body})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	_, auditBefore := h.counts()
	rec = h.do(request{method: http.MethodGet, path: c.path(absent, "timeline"), as: agent47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	tl := decode[struct {
		BeneficiaryID int64 `json:"beneficiary_id"`
		Events        []struct {
			Date   string         `json:"date"`
			Type   string         `json:"type"`
			Detail map[string]any `json:"detail"`
		} `json:"events"`
	}](t, rec)
	assert.Equal(t, absent, tl.BeneficiaryID)
	var got []string
	for _, e := range tl.Events {
		got = append(got, e.Date+" "+e.Type)
	}
	assert.Equal(t, []string{
		"2020-09-01 rights_opened",
		"2020-09-10 convocation_sent",
		"2020-09-21 session",
		"2020-09-22 formal_notice_issued",
		"2020-09-28 catch_up",
		"2020-09-28 orientation_decided",
		"2020-09-30 orientation_notified",
		"2020-10-02 formal_notice_deadline",
	}, got)
	require.Len(t, tl.Events, 8)
	assert.Equal(t, "no_show", tl.Events[2].Detail["attendance"])
	assert.Equal(t, true, tl.Events[4].Detail["attended"])
	assert.Equal(t, "Marie Dupont", tl.Events[5].Detail["referent"])
	assert.Equal(t, "Pôle emploi Agen (test)", tl.Events[5].Detail["organisation"])
	assert.Nil(t, tl.Events[7].Detail["outcome"])
	_, auditAfter := h.counts()
	assert.Equal(t, auditBefore+1, auditAfter, "the timeline read is audited")
}

func TestOrientationIndicatorsInTheReport(t *testing.T) {
	h := newHarness(t)
	c := newOrientationCase(h)
	// 2021 entrants, so that the demo data (2019-2020) stays out of the figures: in 47-NERAC
	// first decisions at 10 and 31 days and one never oriented; in 47-VILLENEUVE one at 20.
	for _, e := range []struct {
		territory, opened string
		delay             int
	}{{"47-NERAC", "2021-02-01", 10}, {"47-NERAC", "2021-03-01", 31}, {"47-NERAC", "2021-04-01", -1}, {"47-VILLENEUVE", "2021-05-03", 20}} {
		id := c.fx.Beneficiary(pathwaytest.Person{Territory: e.territory, RightsOpenedOn: e.opened})
		if e.delay < 0 {
			continue
		}
		decided := pathwaytest.Date(t, e.opened).AddDate(0, 0, e.delay).Format(time.DateOnly)
		rec := h.do(request{method: http.MethodPost, path: c.path(id, "orientations"), as: admin47,
			body: fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"decided_on":%q,"origin":"individual"}`, c.ccas, decided)})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	}
	values := func(query string) map[string]*float64 {
		t.Helper()
		rec := h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2021&action=3.1" + query, as: manager47})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		rep := decode[struct {
			Territory  *string `json:"territory"`
			Indicators []struct {
				Code  string   `json:"code"`
				Value *float64 `json:"value"`
			} `json:"indicators"`
		}](t, rec)
		out := map[string]*float64{}
		for _, r := range rep.Indicators {
			out[r.Code] = r.Value
		}
		return out
	}
	figures := func(v map[string]*float64) []any {
		out := []any{}
		for _, code := range []string{orientations.CodeNewEntrants, orientations.CodeNewEntrantsOriented, orientations.CodeOrientationDelay} {
			if v[code] == nil {
				out = append(out, nil)
			} else {
				out = append(out, *v[code])
			}
		}
		return out
	}
	assert.Equal(t, []any{4.0, 2.0, 20.33}, figures(values("")), "(10 + 31 + 20) / 3 = 20.33")
	assert.Equal(t, []any{3.0, 1.0, 20.5}, figures(values("&territory=47-NERAC")))
	assert.Equal(t, []any{0.0, 0.0, nil}, figures(values("&territory=47-FUMEL")))

	for _, bad := range []string{"agen", "47-agen1", "47%20AGEN1", "47_AGEN1", "47-" + strings.Repeat("A", 40)} {
		p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/reports/indicators?year=2021&territory=" + bad, as: manager47}), http.StatusBadRequest)
		assert.Contains(t, fields(p), "territory", bad)
	}

	rec := h.do(request{method: http.MethodPatch, path: "/api/v1/indicators/" + orientations.CodeNewEntrantsOriented, as: admin47,
		headers: map[string]string{"If-Match": "*"}, body: `{"params":{"threshold_days":31}}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, []any{4.0, 3.0, 20.33}, figures(values("")), "the threshold is data")
}
