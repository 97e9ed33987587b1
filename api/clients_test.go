package api_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"parcours/api"
	"parcours/models"
	"parcours/services/clients"
	"parcours/services/clients/clientstest"
	"parcours/services/health"
)

// partnerAPI is a harness whose router runs on a settable clock (the client lockout, the rate
// limit and the idempotency keys read it) and hashes secrets cheaply, with the partner
// settings edit makes.
type partnerAPI struct {
	*harness
	clock *clientstest.Clock
}

func newPartnerAPI(t *testing.T, edit func(*api.Deps)) partnerAPI {
	h := newHarness(t)
	clock := clientstest.NewClock(time.Now().UTC())
	sqlDB, err := h.db.DB()
	require.NoError(t, err)
	d := api.Deps{DB: h.db, Cipher: h.cipher, Keys: h.keys, Tokens: h.tokens, Readiness: health.Checker{DB: sqlDB},
		Metrics: api.NewMetrics(sqlDB), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 4096,
		Now: clock.Now, SecretHashCost: bcrypt.MinCost, PartnerBurst: 1000}
	if edit != nil {
		edit(&d)
	}
	h.router = api.NewRouter(d)
	return partnerAPI{harness: h, clock: clock}
}

// clientBody is an API client as the API answers it.
type clientBody struct {
	ID           int64      `json:"id"`
	ClientID     string     `json:"client_id"`
	ClientSecret string     `json:"client_secret"`
	Scopes       []string   `json:"scopes"`
	Active       bool       `json:"active"`
	LockedUntil  *time.Time `json:"locked_until"`
	Version      int        `json:"version"`
}

// newClient creates, as the administrator, an API client of organisation org with scopes.
func (p partnerAPI) newClient(org int64, scopes ...string) clientBody {
	p.t.Helper()
	list, err := json.Marshal(scopes)
	require.NoError(p.t, err)
	rec := p.do(request{method: http.MethodPost, path: "/api/v1/api-clients", as: admin47,
		body: fmt.Sprintf(`{"name":"SI partenaire %s","organisation_id":%d,"scopes":%s}`, rand.Text()[:6], org, list)})
	require.Equal(p.t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[clientBody](p.t, rec)
}

func clientPath(id int64, action string) string {
	path := "/api/v1/api-clients/" + strconv.FormatInt(id, 10)
	if action != "" {
		path += "/" + action
	}
	return path
}

// askToken posts form to the token endpoint; basic, when given, is sent as HTTP Basic.
func (p partnerAPI) askToken(form string, basic ...string) *httptest.ResponseRecorder {
	p.t.Helper()
	headers := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if len(basic) == 2 {
		headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(basic[0])+":"+url.QueryEscape(basic[1])))
	}
	return p.do(request{method: http.MethodPost, path: "/api/v1/oauth/token", body: form, headers: headers})
}

// credentialsForm is a client credentials grant with the credentials in the body.
func credentialsForm(clientID, secret string, extra ...string) string {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return form.Encode()
}

type tokenBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// tokenOf gets a token for the client with its secret in the body.
func (p partnerAPI) tokenOf(c clientBody, extra ...string) tokenBody {
	p.t.Helper()
	rec := p.askToken(credentialsForm(c.ClientID, c.ClientSecret, extra...))
	require.Equal(p.t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(p.t, "no-store", rec.Header().Get("Cache-Control"))
	tok := decode[tokenBody](p.t, rec)
	assert.Equal(p.t, "Bearer", tok.TokenType)
	assert.Equal(p.t, 900, tok.ExpiresIn)
	return tok
}

// oauthRefusal checks an RFC 6749 §5.2 error answer and returns its description.
func oauthRefusal(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	assert.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"), "not a problem: %s", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, code, body.Error, body.Description)
	if status == http.StatusUnauthorized {
		assert.Equal(t, `Basic realm="parcours"`, rec.Header().Get("WWW-Authenticate"))
	}
	return body.Description
}

func withBearer(token string, more ...string) map[string]string {
	headers := map[string]string{"Authorization": "Bearer " + token}
	for i := 0; i+1 < len(more); i += 2 {
		headers[more[i]] = more[i+1]
	}
	return headers
}

// clientTrail lists "action by actor" of the audit rows of API client id.
func (p partnerAPI) clientTrail(id int64) []string {
	p.t.Helper()
	var trail []string
	require.NoError(p.t, p.db.Model(&models.AuditEvent{}).Where("resource = 'api_client' AND resource_id = ?", strconv.FormatInt(id, 10)).
		Order("id").Pluck("action || ' by ' || role", &trail).Error)
	return trail
}

// An API client's life: created with its secret shown once, a token, a rotation (the old
// secret stops working), a revocation (no more tokens, and the token it holds is refused).
func TestAPIClientLifecycle(t *testing.T) {
	p := newPartnerAPI(t, nil)
	org := p.organisationID("Pôle emploi Agen")
	rec := p.do(request{method: http.MethodPost, path: "/api/v1/api-clients", as: admin47,
		body: fmt.Sprintf(`{"name":"SI Pôle emploi Agen","organisation_id":%d,"scopes":["events:read","beneficiaries:read"]}`, org)})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	created := decode[clientBody](t, rec)
	assert.Equal(t, clientPath(created.ID, ""), rec.Header().Get("Location"))
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
	assert.Len(t, created.ClientSecret, 43)
	assert.Equal(t, []string{"beneficiaries:read", "events:read"}, created.Scopes)

	for _, path := range []string{"/api/v1/api-clients", clientPath(created.ID, "")} {
		rec = p.do(request{method: http.MethodGet, path: path, as: admin47})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.NotContains(t, rec.Body.String(), "client_secret")
		assert.NotContains(t, rec.Body.String(), created.ClientSecret)
		assert.Contains(t, rec.Body.String(), created.ClientID)
	}
	for _, who := range []request{{as: agent47}, {as: manager47}, {as: partner47}} {
		problem(t, p.do(request{method: http.MethodGet, path: "/api/v1/api-clients", as: who.as}), http.StatusForbidden)
	}
	problem(t, p.do(request{method: http.MethodGet, path: clientPath(created.ID, ""), as: admin33}), http.StatusNotFound)

	first := p.tokenOf(created)
	assert.Equal(t, "beneficiaries:read events:read", first.Scope)
	rec = p.do(request{method: http.MethodGet, path: "/api/v1/beneficiaries", headers: withBearer(first.AccessToken)})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	rec = p.do(request{method: http.MethodPost, path: clientPath(created.ID, "rotate"), as: admin47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rotated := decode[clientBody](t, rec)
	assert.NotEqual(t, created.ClientSecret, rotated.ClientSecret)
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	oauthRefusal(t, p.askToken(credentialsForm(created.ClientID, created.ClientSecret)), http.StatusUnauthorized, "invalid_client")
	p.tokenOf(rotated)

	rec = p.do(request{method: http.MethodPost, path: clientPath(created.ID, "revoke"), as: admin47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.False(t, decode[clientBody](t, rec).Active)
	description := oauthRefusal(t, p.askToken(credentialsForm(created.ClientID, rotated.ClientSecret)), http.StatusUnauthorized, "invalid_client")
	assert.Contains(t, description, "revoked")
	problem(t, p.do(request{method: http.MethodGet, path: "/api/v1/beneficiaries", headers: withBearer(first.AccessToken)}), http.StatusUnauthorized)
	problem(t, p.do(request{method: http.MethodPost, path: clientPath(created.ID, "rotate"), as: admin47}), http.StatusConflict)

	assert.Equal(t, []string{"create by admin", "token_issued by partner", "rotate by admin", "token_refused by partner",
		"token_issued by partner", "revoke by admin", "token_refused by partner"}, p.clientTrail(created.ID))
	var leaked int64
	require.NoError(t, p.db.Model(&models.AuditEvent{}).Where("concat_ws(' ', actor, resource_id, request_id) LIKE ? OR concat_ws(' ', actor, resource_id, request_id) LIKE ?",
		"%"+created.ClientSecret+"%", "%"+rotated.ClientSecret+"%").Count(&leaked).Error)
	assert.Zero(t, leaked, "no secret in the audit trail")
	var actors []string
	require.NoError(t, p.db.Model(&models.AuditEvent{}).Where("resource = 'api_client' AND role = 'partner'").Distinct().Pluck("actor", &actors).Error)
	assert.Equal(t, []string{"client:" + created.ClientID}, actors)
}

func TestAPIClientCreationRules(t *testing.T) {
	p := newPartnerAPI(t, nil)
	org := p.organisationID("Pôle emploi Agen")
	before, auditBefore := p.counts()
	for name, tt := range map[string]struct {
		body   string
		fields []string
	}{
		"unknown scope":            {fmt.Sprintf(`{"name":"A","organisation_id":%d,"scopes":["root"]}`, org), []string{"scopes"}},
		"no scope":                 {fmt.Sprintf(`{"name":"A","organisation_id":%d,"scopes":[]}`, org), []string{"scopes"}},
		"unknown organisation":     {`{"name":"A","organisation_id":999999,"scopes":["events:read"]}`, []string{"organisation_id"}},
		"everything missing":       {`{}`, []string{"name", "organisation_id", "scopes"}},
		"null scopes, blank name":  {fmt.Sprintf(`{"name":" ","organisation_id":%d,"scopes":null}`, org), []string{"name", "scopes"}},
		"a secret cannot be given": {fmt.Sprintf(`{"name":"A","organisation_id":%d,"scopes":["events:read"],"client_secret":"x"}`, org), []string{"client_secret"}},
	} {
		t.Run(name, func(t *testing.T) {
			got := fields(problem(t, p.do(request{method: http.MethodPost, path: "/api/v1/api-clients", as: admin47, body: tt.body}), http.StatusUnprocessableEntity))
			assert.ElementsMatch(t, tt.fields, slices.Collect(func(yield func(string) bool) {
				for f := range got {
					if !yield(f) {
						return
					}
				}
			}))
		})
	}
	after, auditAfter := p.counts()
	assert.Equal(t, [2]int64{before, auditBefore}, [2]int64{after, auditAfter}, "refusals write nothing")
	p.newClient(org, "events:read")
	problem(t, p.do(request{method: http.MethodPost, path: "/api/v1/api-clients", as: admin47,
		headers: map[string]string{"Idempotency-Key": "k"},
		body:    fmt.Sprintf(`{"name":"B","organisation_id":%d,"scopes":["events:read"]}`, org)}), http.StatusBadRequest)
}

// Every refusal of the token endpoint in the RFC 6749 §5.2 format, and the two ways to
// authenticate.
func TestTokenEndpoint(t *testing.T) {
	p := newPartnerAPI(t, nil)
	org := p.organisationID("Pôle emploi Agen")
	c := p.newClient(org, "beneficiaries:read", "attendance:write")
	revoked := p.newClient(org, "events:read")
	require.Equal(t, http.StatusOK, p.do(request{method: http.MethodPost, path: clientPath(revoked.ID, "revoke"), as: admin47}).Code)

	basic := func(id, secret string) map[string]string {
		return map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name    string
		path    string
		body    string
		headers map[string]string
		status  int
		code    string
	}{
		{"wrong secret", "", credentialsForm(c.ClientID, "wrong"), form, 401, "invalid_client"},
		{"unknown client", "", credentialsForm("nobody", "wrong"), form, 401, "invalid_client"},
		{"revoked client", "", credentialsForm(revoked.ClientID, revoked.ClientSecret), form, 401, "invalid_client"},
		{"wrong grant type", "", credentialsForm(c.ClientID, c.ClientSecret, "grant_type", "password"), form, 400, "unsupported_grant_type"},
		{"no grant type", "", "client_id=" + c.ClientID + "&client_secret=" + c.ClientSecret, form, 400, "invalid_request"},
		{"no secret", "", "grant_type=client_credentials&client_id=" + c.ClientID, form, 401, "invalid_client"},
		{"no credentials", "", "grant_type=client_credentials", form, 401, "invalid_client"},
		{"a repeated parameter", "", credentialsForm(c.ClientID, c.ClientSecret) + "&grant_type=client_credentials", form, 400, "invalid_request"},
		{"JSON", "", `{"grant_type":"client_credentials"}`, map[string]string{"Content-Type": "application/json"}, 400, "invalid_request"},
		{"no body", "", "", form, 400, "invalid_request"},
		{"secret in the URL", "?client_secret=" + c.ClientSecret, "grant_type=client_credentials&client_id=" + c.ClientID, form, 400, "invalid_request"},
		{"scope not granted", "", credentialsForm(c.ClientID, c.ClientSecret, "scope", "contracts:write"), form, 400, "invalid_scope"},
		{"unknown scope", "", credentialsForm(c.ClientID, c.ClientSecret, "scope", "admin"), form, 400, "invalid_scope"},
		{"Basic, wrong secret", "", "grant_type=client_credentials", basic(c.ClientID, "wrong"), 401, "invalid_client"},
		{"Basic and a body secret", "", credentialsForm(c.ClientID, c.ClientSecret), basic(c.ClientID, c.ClientSecret), 400, "invalid_request"},
		{"Basic, not base64", "", "grant_type=client_credentials", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic %%%"}, 401, "invalid_client"},
		{"a bearer token instead", "", "grant_type=client_credentials", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + p.token(admin47)}, 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := p.do(request{method: http.MethodPost, path: "/api/v1/oauth/token" + tt.path, body: tt.body, headers: tt.headers})
			oauthRefusal(t, rec, tt.status, tt.code)
			assert.NotContains(t, rec.Body.String(), c.ClientSecret)
		})
	}

	rec := p.askToken("grant_type=client_credentials", c.ClientID, c.ClientSecret)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "beneficiaries:read attendance:write", decode[tokenBody](t, rec).Scope)
	rec = p.askToken("grant_type=client_credentials&scope=attendance%3Awrite", c.ClientID, c.ClientSecret)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	narrowed := decode[tokenBody](t, rec)
	assert.Equal(t, "attendance:write", narrowed.Scope)
	claims, err := p.tokens.Verify(narrowed.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, "client:"+c.ClientID, claims.Subject)
	assert.Equal(t, strconv.FormatInt(org, 10), claims.Organisation)
	assert.Equal(t, []string{"attendance:write"}, claims.Scopes)

	// The refusals of the known client are audited; the malformed requests never reached it.
	assert.Equal(t, []string{"create by admin", "token_refused by partner", "token_refused by partner", "token_refused by partner",
		"token_refused by partner", "token_issued by partner", "token_issued by partner"}, p.clientTrail(c.ID))
}

// Ten failed attempts within a minute lock the client for a minute: the eleventh attempt,
// with the right secret, is refused during the lock and accepted after it.
func TestTokenLockout(t *testing.T) {
	p := newPartnerAPI(t, nil)
	c := p.newClient(p.organisationID("Pôle emploi Agen"), "beneficiaries:read")
	for range clients.MaxFailures {
		oauthRefusal(t, p.askToken(credentialsForm(c.ClientID, "guess")), http.StatusUnauthorized, "invalid_client")
		p.clock.Advance(time.Second)
	}
	description := oauthRefusal(t, p.askToken(credentialsForm(c.ClientID, c.ClientSecret)), http.StatusUnauthorized, "invalid_client")
	assert.Contains(t, description, "locked until")
	locked := decode[clientBody](t, p.do(request{method: http.MethodGet, path: clientPath(c.ID, ""), as: admin47}))
	require.NotNil(t, locked.LockedUntil)
	p.clock.Advance(clients.LockDuration - 2*time.Second) // the tenth failure, a second ago, started the lock: 1 s left
	assert.Contains(t, oauthRefusal(t, p.askToken(credentialsForm(c.ClientID, c.ClientSecret)), http.StatusUnauthorized, "invalid_client"), "locked")
	p.clock.Advance(time.Second)
	p.tokenOf(c)
}

// A partner token reaches only the routes its scopes cover; reference data needs none; a
// route partners may not call is a 403 whatever the scopes.
func TestPartnerScopes(t *testing.T) {
	p := newPartnerAPI(t, nil)
	c := newOrientationCase(p.harness)
	reader := p.tokenOf(p.newClient(c.pe, "beneficiaries:read")).AccessToken
	both := p.newClient(c.pe, "beneficiaries:read", "attendance:write")
	attendanceOnly := p.tokenOf(both, "scope", "attendance:write").AccessToken
	attendance := func(token, etag string) *httptest.ResponseRecorder {
		return p.do(request{method: http.MethodPatch, path: "/api/v1/convocations/" + strconv.FormatInt(c.convocation, 10),
			body: `{"attendance":"excused"}`, headers: withBearer(token, "If-Match", etag)})
	}
	beneficiary := "/api/v1/beneficiaries/" + strconv.FormatInt(c.person, 10)

	tests := []struct {
		name   string
		token  string
		req    request
		status int
	}{
		{"reads a beneficiary", reader, request{method: http.MethodGet, path: beneficiary}, 200},
		{"reads reference data", reader, request{method: http.MethodGet, path: "/api/v1/territories"}, 200},
		{"reads its referents", reader, request{method: http.MethodGet, path: fmt.Sprintf("/api/v1/organisations/%d/referents", c.pe)}, 200},
		{"a decision without orientations:write", reader, request{method: http.MethodPost, path: c.path(c.person, "orientations"), body: c.platformBody("2020-09-14")}, 403},
		{"a route partners may not call", reader, request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions"}, 403},
		{"attendance token reads no one", attendanceOnly, request{method: http.MethodGet, path: beneficiary}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.headers = withBearer(tt.token)
			rec := p.do(tt.req)
			if tt.status == http.StatusOK {
				require.Equal(t, tt.status, rec.Code, rec.Body.String())
				return
			}
			pr := problem(t, rec, tt.status)
			if tt.name != "a route partners may not call" {
				assert.Contains(t, pr.Detail, "scope")
			}
		})
	}
	problem(t, attendance(reader, `"1"`), http.StatusForbidden)
	rec := attendance(attendanceOnly, `"1"`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = p.do(request{method: http.MethodPatch, path: "/api/v1/convocations/" + strconv.FormatInt(c.convocation, 10),
		as: c.partner(c.pe), body: `{"attendance":"present"}`, headers: map[string]string{"If-Match": `"2"`}})
	require.Equal(t, http.StatusOK, rec.Code, "a token without a scope claim is not narrowed: %s", rec.Body.String())
}

// The scope table covers every route openapi.yaml admits partners to, names only scopes of
// the closed set, and lists no route partners may not call.
func TestScopeTableCoversEveryPartnerRoute(t *testing.T) {
	doc, _ := loadSpec(t)
	routed := map[string]bool{}
	for _, r := range newHarness(t).router.Routes() {
		routed[api.RouteKey(r.Method, r.Path)] = true
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			route := method + " " + path
			roles, _ := op.Extensions["x-roles"].([]any)
			_, listed := api.PartnerScopes[route]
			admitsPartners := slices.ContainsFunc(roles, func(r any) bool { return fmt.Sprint(r) == "partner" })
			assert.Equal(t, admitsPartners, listed, "%s: x-roles %v and the scope table disagree", route, roles)
		}
	}
	for route, scope := range api.PartnerScopes {
		assert.True(t, scope == "" || slices.Contains(clients.Scopes, scope), "%s: %q", route, scope)
		if !routed[route] {
			t.Logf("%s is listed but not routed yet", route)
		}
	}
}

func TestPartnerRateLimit(t *testing.T) {
	p := newPartnerAPI(t, func(d *api.Deps) { d.PartnerRate, d.PartnerBurst = 1, 2 })
	org := p.organisationID("Pôle emploi Agen")
	partner, other := partnerOf(org), partnerOf(org)
	other.Subject = "another-client"
	territories := func(as request) *httptest.ResponseRecorder {
		return p.do(request{method: http.MethodGet, path: "/api/v1/territories", as: as.as})
	}
	for range 2 {
		require.Equal(t, http.StatusOK, territories(request{as: partner}).Code)
	}
	rec := territories(request{as: partner})
	pr := problem(t, rec, http.StatusTooManyRequests)
	assert.Equal(t, "urn:parcours:problem:too-many-requests", pr.Type)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusOK, territories(request{as: other}).Code, "each client has its own bucket")
	for range 5 {
		assert.Equal(t, http.StatusOK, territories(request{as: admin47}).Code, "other roles are not limited")
	}
	p.clock.Advance(time.Second)
	assert.Equal(t, http.StatusOK, territories(request{as: partner}).Code, "a token a second")
	problem(t, territories(request{as: partner}), http.StatusTooManyRequests)
}

// A partner's POST retried with its Idempotency-Key gets the first answer and writes once;
// the same key on another body is a 422; a refused request is not kept.
func TestIdempotentPartnerPost(t *testing.T) {
	p := newPartnerAPI(t, func(d *api.Deps) { d.IdempotencyWait = 20 * time.Second })
	c := newAccompanimentCase(p.harness)
	enrolment := c.enrol(fmt.Sprintf(`{"beneficiary_id":%d,"programme_code":%q,"organisation_id":%d,"referent_id":%d,"orientation_id":%d,"started_on":"2020-10-01"}`,
		c.person, testProgramme, c.pe, c.peReferent, c.orientation))
	partner := c.partner(c.pe)
	ppae := func(ends string) string {
		return `{"type":"ppae","signed_on":"2020-10-20","starts_on":"2020-10-20","ends_on":"` + ends + `"}`
	}
	post := func(key, body string) *httptest.ResponseRecorder {
		return p.do(request{method: http.MethodPost, path: enrolmentPath(enrolment, "contracts"), as: partner, body: body,
			headers: map[string]string{"Idempotency-Key": key}})
	}

	before := p.accompanimentCounts()
	first := post("contract-1", ppae("2021-04-19"))
	require.Equal(t, http.StatusCreated, first.Code, first.Body.String())
	assert.Empty(t, first.Header().Get(api.ReplayedHeader))
	retry := post("contract-1", ppae("2021-04-19"))
	require.Equal(t, http.StatusCreated, retry.Code, retry.Body.String())
	assert.Equal(t, first.Body.String(), retry.Body.String())
	for _, h := range []string{"Location", "ETag", "Content-Type"} {
		assert.Equal(t, first.Header().Get(h), retry.Header().Get(h), h)
	}
	assert.Equal(t, "true", retry.Header().Get(api.ReplayedHeader))
	assert.NotEqual(t, first.Header().Get(api.RequestIDHeader), retry.Header().Get(api.RequestIDHeader))
	after := p.accompanimentCounts()
	assert.Equal(t, before.contracts+1, after.contracts, "one contract")
	assert.Equal(t, before.audit+1, after.audit, "one audit event")

	pr := problem(t, post("contract-1", ppae("2021-05-19")), http.StatusUnprocessableEntity)
	assert.Contains(t, fields(pr), "Idempotency-Key")
	problem(t, post(strings.Repeat("k", 256), ppae("2021-05-19")), http.StatusBadRequest)
	problem(t, post("with space", ppae("2021-05-19")), http.StatusBadRequest)
	assert.Equal(t, after, p.accompanimentCounts())

	// A refusal is not kept: the same request with the same key is refused again, and the
	// key is free for the corrected request.
	future := `{"type":"ppae","signed_on":"2999-01-01","starts_on":"2999-01-01","ends_on":"2999-06-01"}`
	problem(t, post("contract-2", future), http.StatusUnprocessableEntity)
	problem(t, post("contract-2", future), http.StatusUnprocessableEntity)
	assert.Equal(t, after, p.accompanimentCounts())

	// Concurrent duplicates: the first writes, the others wait for it and replay its answer.
	var wg sync.WaitGroup
	answers := make([]*httptest.ResponseRecorder, 4)
	for i := range answers {
		wg.Go(func() { answers[i] = post("contract-3", ppae("2021-03-31")) })
	}
	wg.Wait()
	replayed := 0
	for _, rec := range answers {
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		assert.Equal(t, answers[0].Body.String(), rec.Body.String())
		if rec.Header().Get(api.ReplayedHeader) == "true" {
			replayed++
		}
	}
	assert.Equal(t, len(answers)-1, replayed)
	assert.Equal(t, after.contracts+1, p.accompanimentCounts().contracts, "one more contract for four requests")
}

// Administrators' and agents' POSTs take an Idempotency-Key too.
func TestIdempotentAdminPost(t *testing.T) {
	p := newPartnerAPI(t, nil)
	body := `{"name":"Mission locale (idempotente)","kind":"mission_locale"}`
	var answers []string
	for range 2 {
		rec := p.do(request{method: http.MethodPost, path: "/api/v1/organisations", as: admin47, body: body,
			headers: map[string]string{"Idempotency-Key": "org-1"}})
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		answers = append(answers, rec.Body.String())
	}
	assert.Equal(t, answers[0], answers[1])
	var n int64
	require.NoError(t, p.db.Model(&models.Organisation{}).Where("name = 'Mission locale (idempotente)'").Count(&n).Error)
	assert.Equal(t, int64(1), n)
	// Keys are per caller: another administrator's "org-1" is its own.
	other := admin47
	other.Subject = "another-admin"
	problem(t, p.do(request{method: http.MethodPost, path: "/api/v1/organisations", as: other, body: body,
		headers: map[string]string{"Idempotency-Key": "org-1"}}), http.StatusConflict)
}
