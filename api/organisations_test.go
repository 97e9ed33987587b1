package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/demo"
)

type organisationBody struct {
	ID            int64   `json:"id"`
	Name          string  `json:"name"`
	Kind          string  `json:"kind"`
	TerritoryCode *string `json:"territory_code"`
	Version       int     `json:"version"`
}

type referentBody struct {
	ID             int64   `json:"id"`
	OrganisationID int64   `json:"organisation_id"`
	LastName       string  `json:"last_name"`
	FirstName      string  `json:"first_name"`
	Email          *string `json:"email"`
	Phone          *string `json:"phone"`
	Active         bool    `json:"active"`
	Version        int     `json:"version"`
}

var organisationTables = []string{"organisations", "referents", "audit_events"}

func TestOrganisationsOverHTTP(t *testing.T) {
	h := newHarness(t)
	var names []string
	path := "/api/v1/organisations?limit=8"
	for {
		rec := h.do(request{method: http.MethodGet, path: path, as: partner47})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		page := decode[listOf[organisationBody]](t, rec)
		for _, o := range page.Items {
			names = append(names, o.Name)
		}
		if page.NextCursor == nil {
			break
		}
		path = "/api/v1/organisations?limit=8&cursor=" + *page.NextCursor
	}
	assert.Len(t, names, len(demo.Organisations), "every role reads the organisations")
	ccas := decode[listOf[organisationBody]](t, h.do(request{method: http.MethodGet, path: "/api/v1/organisations?kind=ccas", as: manager47}))
	assert.Len(t, ccas.Items, 3)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/organisations?kind=bank", as: manager47}), http.StatusUnprocessableEntity)

	agen := h.organisationID(demo.PoleEmploiAgen)
	before := h.tableCounts(organisationTables...)
	refused := []struct {
		name   string
		req    request
		want   int
		fields []string
	}{
		{"an agent", request{method: http.MethodPost, path: "/api/v1/organisations", as: agent47, body: `{"name":"X","kind":"other"}`}, 403, nil},
		{"a duplicate name", request{method: http.MethodPost, path: "/api/v1/organisations", as: admin47,
			body: `{"name":"Pôle emploi Agen","kind":"pole_emploi"}`}, 409, nil},
		{"bad fields", request{method: http.MethodPost, path: "/api/v1/organisations", as: admin47,
			body: `{"name":null,"kind":"bank","territory_code":"47-NOWHERE"}`}, 422, []string{"name", "kind"}},
		{"an unknown territory", request{method: http.MethodPost, path: "/api/v1/organisations", as: admin47,
			body: `{"name":"Mission locale de l'Agenais","kind":"mission_locale","territory_code":"47-NOWHERE"}`}, 422, []string{"territory_code"}},
		{"a stale version", request{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/organisations/%d", agen), as: admin47,
			body: `{"kind":"other"}`, headers: map[string]string{"If-Match": `"9"`}}, 412, nil},
		{"no If-Match", request{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/organisations/%d", agen), as: admin47,
			body: `{"kind":"other"}`}, 428, nil},
		{"a referent for a manager", request{method: http.MethodGet, path: fmt.Sprintf("/api/v1/organisations/%d/referents", agen), as: manager47}, 403, nil},
		{"another organisation's referents for a partner", request{method: http.MethodGet,
			path: fmt.Sprintf("/api/v1/organisations/%d/referents", agen), as: partnerOf(h.organisationID("PLIE de l'Agenais"))}, 404, nil},
		{"a referent with an organisation in the body", request{method: http.MethodPost, path: fmt.Sprintf("/api/v1/organisations/%d/referents", agen),
			as: admin47, body: `{"last_name":"Petit","first_name":"Léa","organisation_id":3}`}, 422, []string{"organisation_id"}},
		{"a referent of an unknown organisation", request{method: http.MethodPost, path: "/api/v1/organisations/999999/referents",
			as: admin47, body: `{"last_name":"Petit","first_name":"Léa"}`}, 404, nil},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			p := problem(t, h.do(tt.req), tt.want)
			for _, f := range tt.fields {
				assert.Contains(t, fields(p), f)
			}
			if tt.want == http.StatusConflict {
				require.NotNil(t, p.ExistingID)
				assert.Equal(t, agen, *p.ExistingID)
			}
			assert.Equal(t, before, h.tableCounts(organisationTables...), "a refused request writes nothing")
		})
	}

	rec := h.do(request{method: http.MethodPost, path: "/api/v1/organisations", as: admin47,
		body: `{"name":"Mission locale de l'Agenais","kind":"mission_locale","territory_code":"47-AGEN2"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	created := decode[organisationBody](t, rec)
	assert.Equal(t, fmt.Sprintf("/api/v1/organisations/%d", created.ID), rec.Header().Get("Location"))
	rec = h.do(request{method: http.MethodPatch, path: rec.Header().Get("Location"), as: admin47,
		body: `{"territory_code":null}`, headers: map[string]string{"If-Match": `"1"`}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Nil(t, decode[organisationBody](t, rec).TerritoryCode)
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
}

func TestReferentsOverHTTP(t *testing.T) {
	h := newHarness(t)
	agen := h.organisationID(demo.PoleEmploiAgen)
	rec := h.do(request{method: http.MethodGet, path: fmt.Sprintf("/api/v1/organisations/%d/referents", agen), as: partnerOf(agen)})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	list := decode[listOf[referentBody]](t, rec)
	require.Len(t, list.Items, 2, "the demo's two referents at Pôle emploi Agen")
	assert.Equal(t, "Dubois", list.Items[0].LastName)

	rec = h.do(request{method: http.MethodPost, path: fmt.Sprintf("/api/v1/organisations/%d/referents", agen), as: admin47,
		body: `{"last_name":"Petit","first_name":"Léa","phone":"05 53 12 34 56"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	r := decode[referentBody](t, rec)
	assert.Equal(t, "0553123456", *r.Phone)
	assert.True(t, r.Active)
	location := rec.Header().Get("Location")
	assert.Equal(t, fmt.Sprintf("/api/v1/referents/%d", r.ID), location)

	for _, tt := range []struct {
		name string
		req  request
		want int
	}{
		{"an agent reads", request{method: http.MethodGet, path: location, as: agent47}, 200},
		{"its organisation's partner reads", request{method: http.MethodGet, path: location, as: partnerOf(agen)}, 200},
		{"another partner", request{method: http.MethodGet, path: location, as: partnerOf(h.organisationID("AFEPT"))}, 404},
		{"a manager", request{method: http.MethodGet, path: location, as: manager47}, 403},
		{"another département", request{method: http.MethodGet, path: location, as: admin33}, 404},
		{"an agent writes", request{method: http.MethodPatch, path: location, as: agent47, body: `{"active":false}`,
			headers: map[string]string{"If-Match": "*"}}, 403},
		{"moving to another organisation", request{method: http.MethodPatch, path: location, as: admin47,
			body: `{"organisation_id":1}`, headers: map[string]string{"If-Match": "*"}}, 422},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := h.tableCounts(organisationTables...)
			rec := h.do(tt.req)
			assert.Equal(t, tt.want, rec.Code, rec.Body.String())
			after := h.tableCounts(organisationTables...)
			if tt.want == http.StatusOK {
				assert.Equal(t, before["audit_events"]+1, after["audit_events"], "the read of a person is audited")
			} else {
				assert.Equal(t, before, after, "a refused request writes nothing")
			}
		})
	}

	rec = h.do(request{method: http.MethodPatch, path: location, as: admin47, body: `{"active":false,"phone":null}`,
		headers: map[string]string{"If-Match": `"1"`}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	updated := decode[referentBody](t, rec)
	assert.False(t, updated.Active)
	assert.Nil(t, updated.Phone)
	assert.Equal(t, agen, updated.OrganisationID)
	assert.Equal(t, 2, updated.Version)
}
