package auth_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func cachedTokens(t *testing.T) (*auth.Tokens, *auth.Keyset, *clock) {
	t.Helper()
	keys := auth.NewKeyset(newKey(t))
	tokens := auth.NewTokens(keys, cfg)
	c := &clock{t: time.Now().Truncate(time.Second)}
	tokens.SetClock(c.now)
	return tokens, keys, c
}

func TestVerifiedTokensStayCheckedAgainstTheClock(t *testing.T) {
	tokens, _, c := cachedTokens(t)
	start := c.t
	want := auth.Principal{Subject: "bob", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1"}}
	raw, err := tokens.Mint(want, time.Hour)
	require.NoError(t, err)

	for range 3 {
		p, err := tokens.Verify(raw)
		require.NoError(t, err)
		assert.Equal(t, want, p)
		p.Territories[0] = "47-NERAC" // a caller altering its principal alters no one else's
	}

	c.t = start.Add(time.Hour + cfg.Leeway - time.Second)
	_, err = tokens.Verify(raw)
	require.NoError(t, err, "still within exp plus the leeway")
	c.t = start.Add(time.Hour + cfg.Leeway)
	_, err = tokens.Verify(raw)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	assert.ErrorContains(t, err, "token is expired", "a remembered token expires as any other")

	c.t = start.Add(-cfg.Leeway - time.Second)
	_, err = tokens.Verify(raw)
	assert.ErrorContains(t, err, "token used before issued", "a clock set back before iat refuses it again")
}

// verifiedAdmin mints an admin token and verifies it once, so that it is remembered.
func verifiedAdmin(t *testing.T, tokens *auth.Tokens) string {
	t.Helper()
	raw, err := tokens.Mint(auth.Principal{Subject: "alice", Role: auth.RoleAdmin, Departement: "47"}, time.Hour)
	require.NoError(t, err)
	_, err = tokens.Verify(raw)
	require.NoError(t, err)
	return raw
}

func TestVerifiedTokensAreRememberedByTheirExactBytes(t *testing.T) {
	tokens, keys, c := cachedTokens(t)
	raw := verifiedAdmin(t, tokens)

	head, sig, _ := strings.Cut(raw[strings.Index(raw, ".")+1:], ".")
	forged := raw[:strings.Index(raw, ".")+1] + head + "." + flip(sig)
	_, err := tokens.Verify(forged)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "another signature is another token, checked in full")

	claims := with(validClaims(c.t), "role", "partner")
	other := sign(t, jwt.SigningMethodEdDSA, newKey(t), keys.SigningKeyID(), claims)
	_, err = tokens.Verify(other)
	assert.ErrorContains(t, err, "signature is invalid")

	login, _, err := tokens.MintLogin(auth.Principal{Subject: "alice", Role: auth.RoleAdmin, Departement: "47"}, time.Minute)
	require.NoError(t, err)
	_, _, _, err = tokens.VerifyLogin(login)
	require.NoError(t, err)
	_, err = tokens.Verify(login)
	assert.ErrorContains(t, err, `a "login" token is not accepted here`)
}

func TestAWithdrawnKeyNoLongerVouchesForRememberedTokens(t *testing.T) {
	tokens, keys, _ := cachedTokens(t)
	raw := verifiedAdmin(t, tokens)

	kid := keys.SigningKeyID()
	pub, _ := keys.PublicKey(kid)
	keys.Replace(kid, newKey(t).Public().(ed25519.PublicKey))
	_, err := tokens.Verify(raw)
	assert.ErrorContains(t, err, "signature is invalid", "another key under the same kid")

	keys.Replace(kid, pub)
	_, err = tokens.Verify(raw)
	require.NoError(t, err)
	keys.Forget(kid)
	_, err = tokens.Verify(raw)
	assert.ErrorContains(t, err, "unknown kid")
}

func TestAFullCacheKeepsVerifying(t *testing.T) {
	tokens, _, _ := cachedTokens(t)
	tokens.SetCacheSize(2)
	var raws []string
	for _, sub := range []string{"a", "b", "c", "d", "e"} {
		raw, err := tokens.Mint(auth.Principal{Subject: sub, Role: auth.RoleAdmin, Departement: "47"}, time.Hour)
		require.NoError(t, err)
		raws = append(raws, raw)
	}
	for range 2 {
		for i, raw := range raws {
			p, err := tokens.Verify(raw)
			require.NoError(t, err)
			assert.Equal(t, []string{"a", "b", "c", "d", "e"}[i], p.Subject)
		}
	}
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
