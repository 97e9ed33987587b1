package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/api"
	"parcours/services/auth"
	"parcours/services/demo"
	"parcours/services/health"
	"parcours/services/indicators"
	"parcours/services/pii"
	"parcours/services/servicetest"
)

var (
	specOnce   sync.Once
	spec       *openapi3.T
	specRouter routers.Router
	specErr    error
)

// loadSpec reads and validates openapi.yaml once per test binary.
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		spec, specErr = loader.LoadFromFile("../openapi.yaml")
		if specErr != nil {
			return
		}
		if specErr = spec.Validate(context.Background()); specErr != nil {
			return
		}
		specRouter, specErr = gorillamux.NewRouter(spec)
		// The dashboard is HTML: its body is checked as a string.
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	})
	require.NoError(t, specErr, "openapi.yaml must load and validate")
	return spec, specRouter
}

var tokenConfig = auth.TokenConfig{Issuer: "parcours", Audience: "parcours-api", Leeway: 30 * time.Second}

// harness is a router over a fresh database holding the demo territories.
type harness struct {
	t      *testing.T
	cipher *pii.Cipher
	db     *gorm.DB
	router *gin.Engine
	key    ed25519.PrivateKey
	keys   *auth.Keyset
	tokens *auth.Tokens
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := buildHarness(t)
	h.t = t
	return h
}

// buildHarness makes a harness whose t the caller sets: a fuzz target builds one with its
// *testing.F and hands each input's *testing.T to it.
func buildHarness(t testing.TB) *harness {
	t.Helper()
	db := servicetest.NewDB(t)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	keys := auth.NewKeyset(key)
	tokens := auth.NewTokens(keys, tokenConfig)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	cipher, err := pii.NewCipher(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	_, err = demo.Seed(context.Background(), db, cipher)
	require.NoError(t, err)
	router := api.NewRouter(api.Deps{
		DB: db, Cipher: cipher, Indicators: withCumulIndicators(withAccompanimentIndicators(withOrientationIndicators(indicators.NewRegistry()))), Keys: keys, Tokens: tokens, Readiness: health.Checker{DB: sqlDB},
		Metrics: api.NewMetrics(sqlDB), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxBodyBytes: 4096,
	})
	return &harness{cipher: cipher, db: db, router: router, key: key, keys: keys, tokens: tokens}
}

var (
	admin47   = auth.Principal{Subject: "admin", Role: auth.RoleAdmin, Departement: "47"}
	manager47 = auth.Principal{Subject: "manager", Role: auth.RoleManager, Departement: "47"}
	agent47   = auth.Principal{Subject: "agent", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}
	partner47 = auth.Principal{Subject: "pe-client", Role: auth.RolePartner, Departement: "47", Organisation: "pole-emploi-agen"}
	admin33   = auth.Principal{Subject: "admin33", Role: auth.RoleAdmin, Departement: "33"}
	// agentNerac is an agent of another territory than agent47's.
	agentNerac = auth.Principal{Subject: "cms-nerac", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-NERAC"}}
)

func (h *harness) token(p auth.Principal) string {
	h.t.Helper()
	tok, err := h.tokens.Mint(p, time.Hour)
	require.NoError(h.t, err)
	return tok
}

// request is one call; as is the caller (zero: no Authorization header).
type request struct {
	method, path, body string
	as                 auth.Principal
	headers            map[string]string
}

// do serves r and checks the response against openapi.yaml: every documented route must
// answer only documented statuses with bodies and headers matching their schemas.
func (h *harness) do(r request) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.as.Role != "" {
		req.Header.Set("Authorization", "Bearer "+h.token(r.as))
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	h.checkAgainstSpec(req, r.body, rec)
	return rec
}

func (h *harness) checkAgainstSpec(req *http.Request, body string, rec *httptest.ResponseRecorder) {
	h.t.Helper()
	_, router := loadSpec(h.t)
	specReq := req.Clone(context.Background())
	specReq.URL.Scheme, specReq.URL.Host, specReq.Host = "http", "localhost:8080", "localhost:8080"
	specReq.Body = io.NopCloser(strings.NewReader(body))
	route, params, err := router.FindRoute(specReq)
	if err != nil {
		// Unknown path or method: the answer must still be a problem.
		assert.Equal(h.t, api.ProblemContentType, rec.Header().Get("Content-Type"), "%s %s", req.Method, req.URL.Path)
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: specReq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  rec.Code,
		Header:  rec.Header(),
		Body:    io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	assert.NoError(h.t, openapi3filter.ValidateResponse(context.Background(), input),
		"%s %s → %d %s does not match openapi.yaml", req.Method, req.URL.Path, rec.Code, rec.Body.String())
}

// problem decodes a problem+json response after checking its status and media type.
func problem(t *testing.T, rec *httptest.ResponseRecorder, status int) api.Problem {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	require.Equal(t, api.ProblemContentType, rec.Header().Get("Content-Type"))
	var p api.Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(t, status, p.Status)
	assert.NotEmpty(t, p.Type)
	assert.NotEmpty(t, p.Title)
	assert.Equal(t, rec.Header().Get(api.RequestIDHeader), p.RequestID)
	return p
}

func fields(p api.Problem) map[string]string {
	out := map[string]string{}
	for _, f := range p.Errors {
		out[f.Field] = f.Message
	}
	return out
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), rec.Body.String())
	return v
}

// counts returns the number of territories and audit events, to prove failed requests wrote
// nothing.
func (h *harness) counts() (territories, auditEvents int64) {
	h.t.Helper()
	require.NoError(h.t, h.db.Table("territories").Count(&territories).Error)
	require.NoError(h.t, h.db.Table("audit_events").Count(&auditEvents).Error)
	return territories, auditEvents
}
