package api_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
)

func (h *harness) forge(method jwt.SigningMethod, key any, kid string, mutate func(jwt.MapClaims)) string {
	h.t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": "parcours", "aud": "parcours-api", "sub": "mallory", "role": "admin", "dep": "47",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if mutate != nil {
		mutate(claims)
	}
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(h.t, err)
	return s
}

func TestEveryBadTokenIsA401Problem(t *testing.T) {
	h := newHarness(t)
	kid := h.keys.SigningKeyID()
	pub := h.key.Public().(ed25519.PublicKey)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": "parcours", "aud": "parcours-api", "sub": "mallory", "role": "admin", "dep": "47",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	tests := []struct {
		name          string
		authorization string
	}{
		{"no token", ""},
		{"not a bearer scheme", "Basic YWRtaW46YWRtaW4="},
		{"bearer without token", "Bearer "},
		{"malformed token", "Bearer abc.def"},
		{"alg none", "Bearer " + none},
		{"HS256 signed with the public key bytes", "Bearer " + h.forge(jwt.SigningMethodHS256, []byte(pub), kid, nil)},
		{"expired", "Bearer " + h.forge(jwt.SigningMethodEdDSA, h.key, kid, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-5 * time.Minute).Unix() })},
		{"wrong iss", "Bearer " + h.forge(jwt.SigningMethodEdDSA, h.key, kid, func(c jwt.MapClaims) { c["iss"] = "evil" })},
		{"wrong aud", "Bearer " + h.forge(jwt.SigningMethodEdDSA, h.key, kid, func(c jwt.MapClaims) { c["aud"] = "another-api" })},
		{"unknown kid", "Bearer " + h.forge(jwt.SigningMethodEdDSA, otherKey, "rogue-kid", nil)},
		{"known kid, other key", "Bearer " + h.forge(jwt.SigningMethodEdDSA, otherKey, kid, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeAudit := h.counts()
			for _, r := range []request{
				{method: http.MethodGet, path: "/api/v1/territories"},
				{method: http.MethodPost, path: "/api/v1/territories", body: `{"code":"47-EVIL","name":"Evil"}`},
			} {
				r.headers = map[string]string{}
				if tt.authorization != "" {
					r.headers["Authorization"] = tt.authorization
				}
				rec := h.do(r)
				p := problem(t, rec, http.StatusUnauthorized)
				assert.Equal(t, "urn:parcours:problem:unauthorized", p.Type)
				assert.True(t, strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer "), rec.Header().Get("WWW-Authenticate"))
			}
			after, afterAudit := h.counts()
			assert.Equal(t, before, after)
			assert.Equal(t, beforeAudit, afterAudit)
		})
	}
}

func TestRolesThatMayNotWriteGet403(t *testing.T) {
	h := newHarness(t)
	_, seeded := h.counts()
	for _, who := range []auth.Principal{manager47, agent47, partner47} {
		t.Run(string(who.Role), func(t *testing.T) {
			p := problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/territories", as: who, body: `{"code":"47-NEW","name":"New"}`}), http.StatusForbidden)
			assert.Contains(t, p.Detail, "admin")
			problem(t, h.do(request{method: http.MethodPatch, path: "/api/v1/territories/47-NERAC", as: who,
				body: `{"name":"x"}`, headers: map[string]string{"If-Match": `"1"`}}), http.StatusForbidden)

			rec := h.do(request{method: http.MethodGet, path: "/api/v1/territories", as: who})
			assert.Equal(t, http.StatusOK, rec.Code, "every role reads the territories")
		})
	}
	territories, auditEvents := h.counts()
	assert.Equal(t, int64(8), territories)
	assert.Equal(t, seeded, auditEvents, "only the seed's rows")
}

func TestAnotherDépartementSeesNothing(t *testing.T) {
	h := newHarness(t)
	list := decode[struct {
		Items []map[string]any `json:"items"`
	}](t, h.do(request{method: http.MethodGet, path: "/api/v1/territories", as: admin33}))
	assert.Empty(t, list.Items)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/territories/47-AGEN1", as: admin33}), http.StatusNotFound)
	problem(t, h.do(request{method: http.MethodPatch, path: "/api/v1/territories/47-AGEN1", as: admin33,
		body: `{"name":"Pris"}`, headers: map[string]string{"If-Match": `"1"`}}), http.StatusNotFound)
	p := problem(t, h.do(request{method: http.MethodPost, path: "/api/v1/territories", as: admin33, body: `{"code":"47-AGEN9","name":"x"}`}), http.StatusUnprocessableEntity)
	assert.Contains(t, fields(p)["code"], "33-")
}
