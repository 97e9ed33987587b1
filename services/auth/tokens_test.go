package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
)

var cfg = auth.TokenConfig{Issuer: "parcours", Audience: "parcours-api", Leeway: 30 * time.Second}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return priv
}

// sign builds a token by hand so tests can forge every kind of bad token.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "parcours", "aud": "parcours-api", "sub": "alice", "role": "admin", "dep": "47",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func with(c jwt.MapClaims, key string, value any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	if value == nil {
		delete(out, key)
	} else {
		out[key] = value
	}
	return out
}

func TestVerifyRejectsEveryBadToken(t *testing.T) {
	key := newKey(t)
	keys := auth.NewKeyset(key)
	tokens := auth.NewTokens(keys, cfg)
	kid := keys.SigningKeyID()
	now := time.Now()
	good := validClaims(now)
	pub := key.Public().(ed25519.PublicKey)

	unsignedNone := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
		require.NoError(t, err)
		return s
	}

	tests := []struct {
		name  string
		token string
		why   string
	}{
		{"empty", "", "token is malformed"},
		{"malformed", "not.a.jwt", "token is malformed"},
		{"alg none", unsignedNone(), "signing method none is invalid"},
		{"HS256 with the public key bytes", sign(t, jwt.SigningMethodHS256, []byte(pub), kid, good), "signing method HS256 is invalid"},
		{"expired", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "exp", now.Add(-2*time.Minute).Unix())), "token is expired"},
		{"no exp", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "exp", nil)), "exp claim is required"},
		{"no iat", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "iat", nil)), "iat is required"},
		{"iat in the future", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "iat", now.Add(10*time.Minute).Unix())), "token used before issued"},
		{"wrong iss", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "iss", "someone-else")), "token has invalid issuer"},
		{"no iss", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "iss", nil)), "iss claim is required"},
		{"wrong aud", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "aud", "other-api")), "token has invalid audience"},
		{"unknown kid", sign(t, jwt.SigningMethodEdDSA, key, "not-our-kid", good), `unknown kid "not-our-kid"`},
		{"no kid", sign(t, jwt.SigningMethodEdDSA, key, "", good), "kid header is required"},
		{"signed by another key", sign(t, jwt.SigningMethodEdDSA, newKey(t), kid, good), "signature is invalid"},
		{"unknown role", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "role", "root")), `unknown role "root"`},
		{"no département", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "dep", nil)), "invalid département"},
		{"agent without territory", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "role", "agent")), "at least one territory"},
		{"partner without organisation", sign(t, jwt.SigningMethodEdDSA, key, kid, with(good, "role", "partner")), "needs an organisation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tokens.Verify(tt.token)
			require.ErrorIs(t, err, auth.ErrInvalidToken)
			assert.Contains(t, err.Error(), tt.why)
		})
	}

	p, err := tokens.Verify(sign(t, jwt.SigningMethodEdDSA, key, kid, good))
	require.NoError(t, err)
	assert.Equal(t, auth.Principal{Subject: "alice", Role: auth.RoleAdmin, Departement: "47"}, p)
}

func TestLeewayToleratesSmallSkewOnly(t *testing.T) {
	key := newKey(t)
	keys := auth.NewKeyset(key)
	tokens := auth.NewTokens(keys, auth.TokenConfig{Issuer: "parcours", Audience: "parcours-api", Leeway: 10 * time.Minute})
	now := time.Now()
	justExpired := sign(t, jwt.SigningMethodEdDSA, key, keys.SigningKeyID(), with(validClaims(now), "exp", now.Add(-30*time.Second).Unix()))
	_, err := tokens.Verify(justExpired)
	assert.NoError(t, err, "30 s past exp is within the leeway")

	longExpired := sign(t, jwt.SigningMethodEdDSA, key, keys.SigningKeyID(), with(validClaims(now), "exp", now.Add(-90*time.Second).Unix()))
	_, err = tokens.Verify(longExpired)
	assert.ErrorContains(t, err, "token is expired", "the leeway is capped at 60 s whatever the configuration says")
}

func TestMintRoundTrip(t *testing.T) {
	keys := auth.NewKeyset(newKey(t))
	tokens := auth.NewTokens(keys, cfg)
	want := auth.Principal{Subject: "bob", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1", "47-NERAC"}}
	raw, err := tokens.Mint(want, time.Hour)
	require.NoError(t, err)

	header, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"alg":"EdDSA","typ":"JWT","kid":"`+keys.SigningKeyID()+`"}`, string(header))

	got, err := tokens.Verify(raw)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	_, err = tokens.Mint(auth.Principal{Subject: "x", Role: auth.RolePartner, Departement: "47"}, time.Hour)
	assert.ErrorContains(t, err, "needs an organisation")
	_, err = tokens.Mint(want, 0)
	assert.ErrorContains(t, err, "ttl must be positive")
}

// A partner token carries its scopes in the scope claim; a token without the claim is not
// narrowed by scopes, while an empty claim grants nothing.
func TestScopeClaim(t *testing.T) {
	key := newKey(t)
	keys := auth.NewKeyset(key)
	tokens := auth.NewTokens(keys, cfg)
	partner := auth.Principal{Subject: "client:abc", Role: auth.RolePartner, Departement: "47", Organisation: "12",
		Scopes: []string{"beneficiaries:read", "attendance:write"}}
	raw, err := tokens.Mint(partner, time.Hour)
	require.NoError(t, err)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	require.NoError(t, err)
	assert.Contains(t, string(payload), `"scope":"beneficiaries:read attendance:write"`)
	got, err := tokens.Verify(raw)
	require.NoError(t, err)
	assert.Equal(t, partner, got)
	assert.True(t, got.AllowsScope("attendance:write"))
	assert.False(t, got.AllowsScope("contracts:write"))

	partner.Scopes = nil
	raw, err = tokens.Mint(partner, time.Hour)
	require.NoError(t, err)
	got, err = tokens.Verify(raw)
	require.NoError(t, err)
	assert.Nil(t, got.Scopes)
	assert.True(t, got.AllowsScope("contracts:write"), "no scope claim: the role decides")

	empty := sign(t, jwt.SigningMethodEdDSA, key, keys.SigningKeyID(), with(validClaims(time.Now()), "scope", ""))
	got, err = tokens.Verify(empty)
	require.NoError(t, err)
	assert.NotNil(t, got.Scopes)
	assert.False(t, got.AllowsScope("beneficiaries:read"), "an empty scope claim grants nothing")
}

func TestKeysetFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first, err := auth.LoadKeyset(dir)
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, auth.SigningKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	again, err := auth.LoadKeyset(dir)
	require.NoError(t, err)
	assert.Equal(t, first.SigningKeyID(), again.SigningKeyID(), "a second load reuses the key")

	// Rotation: a token signed by the old key stays valid once its public key is kept as *.pub.
	oldTokens := auth.NewTokens(first, cfg)
	oldToken, err := oldTokens.Mint(auth.Principal{Subject: "a", Role: auth.RoleManager, Departement: "47"}, time.Hour)
	require.NoError(t, err)
	rotated, err := auth.Rotate(dir)
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, first.SigningKeyID()+".pub"))
	assert.NotEqual(t, first.SigningKeyID(), rotated.SigningKeyID())
	_, err = auth.NewTokens(rotated, cfg).Verify(oldToken)
	assert.NoError(t, err)

	jwks := rotated.JWKS()
	require.Len(t, jwks.Keys, 2)
	assert.Equal(t, rotated.SigningKeyID(), jwks.Keys[0].Kid, "the signing key comes first")
	assert.Equal(t, first.SigningKeyID(), jwks.Keys[1].Kid)
	for _, k := range jwks.Keys {
		assert.Equal(t, "OKP", k.Kty)
		assert.Equal(t, "Ed25519", k.Crv)
		assert.Equal(t, "EdDSA", k.Alg)
	}

	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.pub"), []byte("nope"), 0o600))
	_, err = auth.LoadKeyset(dir)
	assert.ErrorContains(t, err, "PEM")
}

func TestPurposesDoNotMix(t *testing.T) {
	keys := auth.NewKeyset(newKey(t))
	tokens := auth.NewTokens(keys, cfg)
	p := auth.Principal{Subject: "dg", Role: auth.RoleManager, Departement: "47"}

	link, jti, err := tokens.MintLogin(p, 10*time.Minute)
	require.NoError(t, err)
	assert.NotEmpty(t, jti)
	got, gotJTI, expires, err := tokens.VerifyLogin(link)
	require.NoError(t, err)
	assert.Equal(t, p, got)
	assert.Equal(t, jti, gotJTI)
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), expires, 2*time.Second)

	session, err := tokens.MintSession(p, time.Hour)
	require.NoError(t, err)
	bearer, err := tokens.Mint(p, time.Hour)
	require.NoError(t, err)

	_, err = tokens.Verify(link)
	assert.ErrorContains(t, err, `a "login" token is not accepted here`, "a login link is no bearer token")
	_, err = tokens.Verify(session)
	assert.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = tokens.VerifySession(bearer)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "a bearer token is no session cookie")
	_, _, _, err = tokens.VerifyLogin(session)
	assert.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = tokens.VerifySession(session)
	assert.NoError(t, err)
}
