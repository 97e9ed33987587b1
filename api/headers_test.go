package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every response, success or problem, API or dashboard, carries the security headers; API
// responses are never cached; no response ever carries a CORS header, whatever the Origin.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newHarness(t)
	origin := map[string]string{"Origin": "https://evil.example"}
	preflight := map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
		"Access-Control-Request-Headers": "authorization"}
	for _, tt := range []struct {
		name   string
		req    request
		status int
	}{
		{"an API read", request{method: http.MethodGet, path: "/api/v1/territories", as: admin47, headers: origin}, http.StatusOK},
		{"an API write", request{method: http.MethodPost, path: "/api/v1/territories", as: admin47, headers: origin,
			body: `{"code":"47-TEST","name":"Test"}`}, http.StatusCreated},
		{"a 401", request{method: http.MethodGet, path: "/api/v1/territories", headers: origin}, http.StatusUnauthorized},
		{"a 403", request{method: http.MethodGet, path: "/api/v1/audit-events", as: agent47}, http.StatusForbidden},
		{"a 404 of no route", request{method: http.MethodGet, path: "/api/v1/nowhere", as: admin47}, http.StatusNotFound},
		{"a preflight", request{method: http.MethodOptions, path: "/api/v1/territories", headers: preflight}, http.StatusMethodNotAllowed},
		{"the dashboard", request{method: http.MethodGet, path: "/dashboard?year=2020", as: manager47, headers: origin}, http.StatusOK},
		{"liveness", request{method: http.MethodGet, path: "/healthz"}, http.StatusOK},
		{"the public keys", request{method: http.MethodGet, path: "/.well-known/jwks.json", headers: origin}, http.StatusOK},
	} {
		rec := h.do(tt.req)
		require.Equal(t, tt.status, rec.Code, "%s: %s", tt.name, rec.Body.String())
		got := rec.Header()
		assert.Equal(t, "nosniff", got.Get("X-Content-Type-Options"), tt.name)
		assert.Equal(t, "no-referrer", got.Get("Referrer-Policy"), tt.name)
		assert.Equal(t, "DENY", got.Get("X-Frame-Options"), tt.name)
		csp := got.Get("Content-Security-Policy")
		for _, directive := range []string{"default-src 'none'", "img-src 'self' data:", "form-action 'none'", "frame-ancestors 'none'"} {
			assert.Contains(t, csp, directive, tt.name)
		}
		assert.NotContains(t, csp, "unsafe-inline", tt.name)
		if strings.HasPrefix(tt.req.path, "/.well-known/") {
			assert.NotEqual(t, "no-store", got.Get("Cache-Control"), "%s: the public keys may be cached", tt.name)
		} else {
			assert.Equal(t, "no-store", got.Get("Cache-Control"), tt.name)
		}
		for name := range got {
			assert.False(t, strings.HasPrefix(name, "Access-Control-"), "%s: CORS header %s", tt.name, name)
		}
	}
}

// The dashboard's one inline stylesheet is allowed by its hash, and only it.
func TestTheDashboardStylesheetIsAllowedByItsHash(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/dashboard?year=2020", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	_, rest, ok := strings.Cut(rec.Body.String(), "<style>")
	require.True(t, ok)
	style, _, ok := strings.Cut(rest, "</style>")
	require.True(t, ok)
	sum := sha256.Sum256([]byte(style))
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"),
		"style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';")
	assert.NotContains(t, rec.Body.String(), "<script", "the page needs no script")
}

// Under its Content-Security-Policy, a real browser applies the dashboard's stylesheet.
func TestDashboardStylesApplyUnderTheCSP(t *testing.T) {
	h := newHarness(t)
	server := httptest.NewServer(h.router)
	t.Cleanup(server.Close)
	link, _, err := h.tokens.MintLogin(manager47, 10*time.Minute)
	require.NoError(t, err)

	ctx := browser(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(server.URL+"/login?token="+link),
		chromedp.WaitVisible(chromedp.CSS("table#fiches")),
	))
	margin := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).marginLeft`))
	bar := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('rect.bar-budget')).fill`))
	assert.Equal(t, "32px", margin, "body { margin: 2rem } applies")
	assert.Equal(t, "rgb(217, 217, 217)", bar, ".bar-budget { fill: #d9d9d9 } applies")
}
