package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/api"
	"parcours/migrations"
	"parcours/services/health"
)

func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/healthz"})
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"status":"ok"}`, rec.Body.String())
	rec = h.do(request{method: http.MethodGet, path: "/readyz"})
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"status":"ready"}`, rec.Body.String())

	sqlDB, err := h.db.DB()
	require.NoError(t, err)
	p, err := migrations.NewProvider(sqlDB)
	require.NoError(t, err)
	_, err = p.Down(context.Background())
	require.NoError(t, err)
	prob := problem(t, h.do(request{method: http.MethodGet, path: "/readyz"}), http.StatusServiceUnavailable)
	assert.Contains(t, prob.Detail, "parcours migrate up")
	assert.Equal(t, http.StatusOK, h.do(request{method: http.MethodGet, path: "/healthz"}).Code, "the process is still alive")
}

func TestJWKSPublishesTheSigningKey(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/.well-known/jwks.json"})
	require.Equal(t, http.StatusOK, rec.Code)
	body := decode[struct {
		Keys []struct{ Kid, Kty, Crv, Alg, X string }
	}](t, rec)
	require.Len(t, body.Keys, 1)
	assert.Equal(t, h.keys.SigningKeyID(), body.Keys[0].Kid)
	assert.Equal(t, "EdDSA", body.Keys[0].Alg)
}

func TestMetricsCountRequestsByRouteTemplate(t *testing.T) {
	h := newHarness(t)
	h.do(request{method: http.MethodGet, path: "/api/v1/territories/47-NERAC", as: admin47})
	h.do(request{method: http.MethodGet, path: "/api/v1/territories/47-NOWHERE", as: admin47})
	rec := h.do(request{method: http.MethodGet, path: "/metrics"})
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `parcours_http_requests_total{method="GET",route="/api/v1/territories/:code",status="200"} 1`)
	assert.Contains(t, body, `parcours_http_requests_total{method="GET",route="/api/v1/territories/:code",status="404"} 1`)
	assert.NotContains(t, body, "47-NERAC", "no identifier in metric labels")
	assert.Contains(t, body, "go_sql_open_connections")
}

func TestUnknownRouteAndMethodAreProblems(t *testing.T) {
	h := newHarness(t)
	p := problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/nothing-here", as: admin47}), http.StatusNotFound)
	assert.Equal(t, "urn:parcours:problem:not-found", p.Type)
	rec := h.do(request{method: http.MethodDelete, path: "/api/v1/territories/47-NERAC", as: admin47})
	problem(t, rec, http.StatusMethodNotAllowed)
	assert.Contains(t, rec.Header().Get("Allow"), "PATCH")
	territories, _ := h.counts()
	assert.Equal(t, int64(8), territories)
}

func TestRequestIDIsKeptOrMade(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/healthz", headers: map[string]string{"X-Request-Id": "abc-123"}})
	assert.Equal(t, "abc-123", rec.Header().Get("X-Request-Id"))
	rec = h.do(request{method: http.MethodGet, path: "/healthz", headers: map[string]string{"X-Request-Id": "bad id with spaces\n"}})
	assert.Len(t, rec.Header().Get("X-Request-Id"), 26, "a malformed id is replaced")
	rec = h.do(request{method: http.MethodGet, path: "/healthz"})
	assert.NotEmpty(t, rec.Header().Get("X-Request-Id"))
}

func TestPanicsBecome500Problems(t *testing.T) {
	db := newHarness(t).db
	sqlDB, err := db.DB()
	require.NoError(t, err)
	router := api.NewRouter(api.Deps{DB: db, Readiness: health.Checker{DB: sqlDB}, Metrics: api.NewMetrics(nil),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	router.GET("/boom", func(*gin.Context) { panic("kaboom") })
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	p := problem(t, rec, http.StatusInternalServerError)
	assert.NotContains(t, p.Detail, "kaboom", "no internals in the answer")
}
