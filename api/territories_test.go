package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type territoryBody struct {
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Departement string    `json:"departement"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type territoryList struct {
	Items      []territoryBody `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

func TestListsTheEightSeededTerritoriesPageByPage(t *testing.T) {
	h := newHarness(t)
	var codes []string
	path := "/api/v1/territories?limit=3"
	pages := 0
	for {
		rec := h.do(request{method: http.MethodGet, path: path, as: agent47})
		require.Equal(t, http.StatusOK, rec.Code)
		page := decode[territoryList](t, rec)
		pages++
		for _, it := range page.Items {
			codes = append(codes, it.Code)
			assert.Equal(t, "47", it.Departement)
		}
		if page.NextCursor == nil {
			break
		}
		path = "/api/v1/territories?limit=3&cursor=" + *page.NextCursor
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, []string{"47-AGEN1", "47-AGEN2", "47-AGEN3", "47-FUMEL", "47-MARMANDE", "47-NERAC", "47-TONNEINS", "47-VILLENEUVE"}, codes)

	all := decode[territoryList](t, h.do(request{method: http.MethodGet, path: "/api/v1/territories", as: manager47}))
	assert.Len(t, all.Items, 8)
	assert.Nil(t, all.NextCursor)
}

func TestBadPaginationIs400(t *testing.T) {
	h := newHarness(t)
	tests := map[string]string{
		"limit=0":            "limit",
		"limit=501":          "limit",
		"limit=ten":          "limit",
		"cursor=bm90IGpzb24": "cursor",
	}
	for query, field := range tests {
		t.Run(query, func(t *testing.T) {
			p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/territories?" + query, as: admin47}), http.StatusBadRequest)
			assert.Contains(t, fields(p), field)
		})
	}
	p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/territories?cursor=%%%", as: admin47}), http.StatusBadRequest)
	assert.Contains(t, p.Detail, "query string is malformed")
}

func TestGetHasAnETagAndUnknownIs404(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/api/v1/territories/47-NERAC", as: partner47})
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
	body := decode[territoryBody](t, rec)
	assert.Equal(t, "Nérac", body.Name)

	p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/territories/47-NOWHERE", as: admin47}), http.StatusNotFound)
	assert.Contains(t, p.Detail, "47-NOWHERE")
}

func TestCreateAndUpdateATerritory(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodPost, path: "/api/v1/territories", as: admin47, body: `{"code":"47-CASTELJALOUX","name":"Casteljaloux"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Equal(t, "/api/v1/territories/47-CASTELJALOUX", rec.Header().Get("Location"))
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
	created := decode[territoryBody](t, rec)
	assert.Equal(t, territoryBody{Code: "47-CASTELJALOUX", Name: "Casteljaloux", Departement: "47", Version: 1,
		CreatedAt: created.CreatedAt, UpdatedAt: created.UpdatedAt}, created)

	rec = h.do(request{method: http.MethodPatch, path: "/api/v1/territories/47-CASTELJALOUX", as: admin47,
		body: `{"name":"Casteljaloux (Albret)"}`, headers: map[string]string{"If-Match": `"1"`}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	assert.Equal(t, "Casteljaloux (Albret)", decode[territoryBody](t, rec).Name)

	var audit []struct{ Action, Actor, ResourceID, RequestID string }
	require.NoError(t, h.db.Table("audit_events").Where("resource_id = ?", "47-CASTELJALOUX").Order("id").Find(&audit).Error)
	require.Len(t, audit, 2)
	assert.Equal(t, "create", audit[0].Action)
	assert.Equal(t, "update", audit[1].Action)
	assert.Equal(t, "admin", audit[1].Actor)
	assert.Equal(t, rec.Header().Get("X-Request-Id"), audit[1].RequestID)
}

// Every failed write is refused with the right problem and leaves the database as it was.
func TestFailedWritesAreProblemsAndWriteNothing(t *testing.T) {
	h := newHarness(t)
	ifMatch := func(v string) map[string]string { return map[string]string{"If-Match": v} }
	tests := []struct {
		name   string
		req    request
		status int
		fields []string
	}{
		{"malformed JSON", request{method: http.MethodPost, path: "/api/v1/territories", body: `{"code":`}, http.StatusBadRequest, nil},
		{"not an object", request{method: http.MethodPost, path: "/api/v1/territories", body: `["47-X"]`}, http.StatusBadRequest, nil},
		{"two values", request{method: http.MethodPost, path: "/api/v1/territories", body: `{"code":"47-X","name":"x"} {}`}, http.StatusBadRequest, nil},
		{"every bad field listed", request{method: http.MethodPost, path: "/api/v1/territories", body: `{"code":"agen","name":""}`}, http.StatusUnprocessableEntity, []string{"code", "name"}},
		{"wrong type", request{method: http.MethodPost, path: "/api/v1/territories", body: `{"code":47,"name":"x"}`}, http.StatusUnprocessableEntity, []string{"code"}},
		{"unknown field", request{method: http.MethodPost, path: "/api/v1/territories", body: `{"code":"47-X","name":"x","departement":"33"}`}, http.StatusUnprocessableEntity, []string{"departement"}},
		{"duplicate code", request{method: http.MethodPost, path: "/api/v1/territories", body: `{"code":"47-AGEN1","name":"Agen bis"}`}, http.StatusConflict, nil},
		{"body too large", request{method: http.MethodPost, path: "/api/v1/territories", body: `{"code":"47-X","name":"` + strings.Repeat("x", 5000) + `"}`}, http.StatusRequestEntityTooLarge, nil},
		{"not JSON", request{method: http.MethodPost, path: "/api/v1/territories", body: `code=47-X`, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, http.StatusUnsupportedMediaType, nil},
		{"patch without If-Match", request{method: http.MethodPatch, path: "/api/v1/territories/47-NERAC", body: `{"name":"x"}`}, http.StatusPreconditionRequired, nil},
		{"patch stale If-Match", request{method: http.MethodPatch, path: "/api/v1/territories/47-NERAC", body: `{"name":"x"}`, headers: ifMatch(`"7"`)}, http.StatusPreconditionFailed, nil},
		{"patch weak If-Match", request{method: http.MethodPatch, path: "/api/v1/territories/47-NERAC", body: `{"name":"x"}`, headers: ifMatch(`W/"1"`)}, http.StatusPreconditionFailed, nil},
		{"patch null name", request{method: http.MethodPatch, path: "/api/v1/territories/47-NERAC", body: `{"name":null}`, headers: ifMatch(`"1"`)}, http.StatusUnprocessableEntity, []string{"name"}},
		{"patch blank name", request{method: http.MethodPatch, path: "/api/v1/territories/47-NERAC", body: `{"name":"  "}`, headers: ifMatch(`"1"`)}, http.StatusUnprocessableEntity, []string{"name"}},
		{"patch the code", request{method: http.MethodPatch, path: "/api/v1/territories/47-NERAC", body: `{"code":"47-ALBRET"}`, headers: ifMatch(`"1"`)}, http.StatusUnprocessableEntity, []string{"code"}},
		{"patch unknown territory", request{method: http.MethodPatch, path: "/api/v1/territories/47-NOWHERE", body: `{"name":"x"}`, headers: ifMatch(`"1"`)}, http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeAudit := h.counts()
			tt.req.as = admin47
			p := problem(t, h.do(tt.req), tt.status)
			var got []string
			for _, f := range p.Errors {
				got = append(got, f.Field)
			}
			assert.ElementsMatch(t, tt.fields, got)
			after, afterAudit := h.counts()
			assert.Equal(t, before, after)
			assert.Equal(t, beforeAudit, afterAudit)
		})
	}
	var nerac territoryBody
	require.NoError(t, h.db.Table("territories").Where("code = ?", "47-NERAC").Take(&nerac).Error)
	assert.Equal(t, "Nérac", nerac.Name)
	assert.Equal(t, 1, nerac.Version)
}

func TestIfMatchStarUpdatesWhateverTheVersion(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodPatch, path: "/api/v1/territories/47-FUMEL", as: admin47,
		body: `{"name":"Fumélois"}`, headers: map[string]string{"If-Match": "*"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, 2, decode[territoryBody](t, rec).Version)
}
