package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
)

// FuzzVerify hands arbitrary strings to Tokens.Verify: it never panics, every refusal wraps
// ErrInvalidToken and names no one, and it accepts nothing but the API token the test signed,
// with its claims — without the private key, no other claims carry a valid signature, and a
// login link or a session cookie is no bearer token.
func FuzzVerify(f *testing.F) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(f, err)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(f, err)
	keys := auth.NewKeyset(key)
	tokens := auth.NewTokens(keys, cfg)
	signed := auth.Principal{Subject: "alice", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}
	good, err := tokens.Mint(signed, time.Hour)
	require.NoError(f, err)
	session, err := tokens.MintSession(signed, time.Hour)
	require.NoError(f, err)
	login, _, err := tokens.MintLogin(signed, time.Hour)
	require.NoError(f, err)

	forge := func(method jwt.SigningMethod, signingKey any, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(signingKey)
		require.NoError(f, err)
		return s
	}
	now := time.Now()
	admin := validClaims(now)
	parts := strings.Split(good, ".")
	forgedPayload := strings.Split(forge(jwt.SigningMethodEdDSA, otherKey, keys.SigningKeyID(), admin), ".")[1]
	for _, seed := range []string{
		good, session, login, "", ".", "..", "a.b.c", "Bearer " + good, good + ".", good + "x", strings.ToUpper(good),
		parts[0] + "." + forgedPayload + "." + parts[2], // another payload under the good signature
		parts[0] + "." + parts[1] + ".",                 // no signature
		forge(jwt.SigningMethodEdDSA, otherKey, keys.SigningKeyID(), admin),
		forge(jwt.SigningMethodEdDSA, otherKey, "rogue", admin),
		forge(jwt.SigningMethodEdDSA, key, "", admin),
		forge(jwt.SigningMethodHS256, []byte(key.Public().(ed25519.PublicKey)), keys.SigningKeyID(), admin),
		forge(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, keys.SigningKeyID(), admin),
		forge(jwt.SigningMethodEdDSA, key, keys.SigningKeyID(), with(admin, "exp", nil)),
		forge(jwt.SigningMethodEdDSA, key, keys.SigningKeyID(), with(admin, "role", "root")),
		forge(jwt.SigningMethodEdDSA, key, keys.SigningKeyID(), with(admin, "aud", []any{"parcours-api", 7})),
		strings.Repeat("A", 10000), "eyJhbGciOiJFZERTQSJ9.e30.", "eyJ.eyJ.eyJ", "\x00.\xff.\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := tokens.Verify(raw)
		if err != nil {
			require.ErrorIs(t, err, auth.ErrInvalidToken)
			assert.Equal(t, auth.Principal{}, p, "a refused token names no one")
			return
		}
		require.Equal(t, signed, p, "only the token the test signed is accepted, with its claims: %q", raw)
	})
}
