package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/api"
)

// Fuzz targets of the JSON request decoders, through the whole router over a demo database:
// whatever the body, the answer is never a 500, every refusal is a problem+json, and every
// response matches openapi.yaml (harness.do checks it). `go test` runs the seeds; `make test`
// fuzzes each target briefly.

// bodySeeds are good and bad bodies for any write route.
var bodySeeds = []string{
	julieJSON,
	`{}`, `[]`, `null`, `""`, `0`, `{"a":1}`, `{"last_name":null}`, `{"last_name":1}`,
	`{"household_size":1e400}`, `{"household_size":-1}`, `{"household_size":1.5}`, `{"birth_date":"2020-02-30"}`,
	`{"rights_opened_on":"0000-01-01"}`, `{"amount":"1e9999"}`, `{"amount":"-0.001"}`, `{"amount":12}`,
	`{"code":"47-X","name":"x"} {}`, `{"code":"47-X","code":"47-Y"}`, `{"name":"\u0000"}`, `{"name":"\ud800"}`,
	"\xff\xfe", "{\"name\":\"\xff\"}", `{"starts_at":"2020-10-05T09:00:00+99:00"}`, `{"organisation_ids":[1,null,-1]}`,
	`{"unit_costs":[{"basis":"per_event"}]}`, `{"targets":[{"year":1e10}]}`, `{"params":{"x":"y"}}`,
	`{"beneficiary_id":9223372036854775807}`, `{"beneficiary_id":9223372036854775808}`, `{"month":"2020-13"}`,
	strings.Repeat(`[`, 5000), `{"name":"` + strings.Repeat("é", 3000) + `"}`,
}

// tokenEndpoint is the OAuth 2.0 token endpoint, whose errors follow RFC 6749.
const tokenEndpoint = "/api/v1/oauth/token"

// assertNoServerError checks what every answer to a fuzzed body must be.
func assertNoServerError(t *testing.T, method, path string, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	require.Less(t, rec.Code, 500, "%s %s with %q → %d %s", method, path, body, rec.Code, rec.Body.String())
	if rec.Code >= 300 {
		assertRefusal(t, path, rec)
	}
}

// assertRefusal checks that a 4xx answer is a problem+json, or on the token endpoint an error
// in the format of RFC 6749 §5.2.
func assertRefusal(t *testing.T, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if strings.HasPrefix(path, tokenEndpoint) && !strings.HasPrefix(rec.Header().Get("Content-Type"), api.ProblemContentType) {
		var e struct {
			Error string `json:"error"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
		assert.NotEmpty(t, e.Error, rec.Body.String())
		return
	}
	assert.Equal(t, api.ProblemContentType, rec.Header().Get("Content-Type"), "%s → %d", path, rec.Code)
	var p api.Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
	assert.Equal(t, rec.Code, p.Status)
	assert.NotEmpty(t, p.Type)
}

// FuzzCreateBeneficiaryBody posts arbitrary bytes to POST /api/v1/beneficiaries as an
// administrator.
func FuzzCreateBeneficiaryBody(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	h := buildHarness(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		h.t = t
		rec := h.do(request{method: http.MethodPost, path: "/api/v1/beneficiaries", as: admin47, body: string(body)})
		assertNoServerError(t, http.MethodPost, "/api/v1/beneficiaries", body, rec)
	})
}

// FuzzWriteBodies sends arbitrary bytes to every POST and PATCH route of the API (the route
// picked by the first input), as an administrator, with If-Match "*" and ?year=2020 so that
// the body is decoded: path parameters name the demo's first records or the fiche 4.4, and a
// decoded body may then meet a 404 — never a 500.
func FuzzWriteBodies(f *testing.F) {
	for i, s := range bodySeeds {
		f.Add(uint8(i), []byte(s))
	}
	h := buildHarness(f)
	routes := writeRoutes(h)
	require.NotEmpty(f, routes)
	f.Fuzz(func(t *testing.T, pick uint8, body []byte) {
		h.t = t
		r := routes[int(pick)%len(routes)]
		rec := h.do(request{method: r[0], path: r[1], as: admin47, body: string(body), headers: map[string]string{"If-Match": "*"}})
		assertNoServerError(t, r[0], r[1], body, rec)
	})
}

// writeRoutes are the POST and PATCH routes under /api/v1 as {method, concrete path}, sorted.
func writeRoutes(h *harness) [][2]string {
	var out [][2]string
	for _, r := range h.router.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || (r.Method != http.MethodPost && r.Method != http.MethodPatch) {
			continue
		}
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			switch {
			case p == ":year":
				parts[i] = "2020"
			case p == ":code":
				parts[i] = "4.4"
			case strings.HasPrefix(p, ":"):
				parts[i] = "1"
			}
		}
		out = append(out, [2]string{r.Method, strings.Join(parts, "/") + "?year=2020"})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	return out
}
