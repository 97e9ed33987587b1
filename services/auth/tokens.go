package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is wrapped by every verification failure.
var ErrInvalidToken = errors.New("invalid bearer token")

// MaxLeeway bounds the clock skew tolerated on exp, iat and nbf.
const MaxLeeway = 60 * time.Second

// TokenConfig names the issuer and audience Parcours tokens carry.
type TokenConfig struct {
	Issuer   string
	Audience string
	Leeway   time.Duration
}

// Purposes of a token: an API bearer token has none; a login link and a browser session
// cookie carry theirs, so that neither is accepted where the other is expected.
const (
	PurposeAPI     = ""
	PurposeLogin   = "login"
	PurposeSession = "session"
)

// Claims is the payload of a Parcours token.
type Claims struct {
	Purpose      string   `json:"purpose,omitempty"`
	Role         string   `json:"role"`
	Departement  string   `json:"dep"`
	Territories  []string `json:"territories,omitempty"`
	Organisation string   `json:"org,omitempty"`
	// Scope is the space-separated list of scopes granted (RFC 8693 §4.2); absent when the
	// principal is not narrowed by scopes.
	Scope *string `json:"scope,omitempty"`
	jwt.RegisteredClaims
	header map[string]any // the token's header, once verified
}

// Tokens mints and verifies EdDSA-signed JWTs with a keyset.
type Tokens struct {
	keys     *Keyset
	cfg      TokenConfig
	now      func() time.Time
	parser   *jwt.Parser
	verified *verifiedCache // API bearer tokens already verified, until they expire
}

// NewTokens returns a minter and verifier; the leeway is capped at MaxLeeway.
func NewTokens(keys *Keyset, cfg TokenConfig) *Tokens {
	cfg.Leeway = min(max(cfg.Leeway, 0), MaxLeeway)
	t := &Tokens{keys: keys, cfg: cfg, now: time.Now, verified: newVerifiedCache(verifiedCacheSize)}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)
	return t
}

// Mint signs an API bearer token for p, valid for ttl.
func (t *Tokens) Mint(p Principal, ttl time.Duration) (string, error) {
	signed, _, err := t.mint(p, ttl, PurposeAPI)
	return signed, err
}

// MintLogin signs a single-use login link token for p, valid for ttl; jti is its id, which
// the server records when the link is used.
func (t *Tokens) MintLogin(p Principal, ttl time.Duration) (signed, jti string, err error) {
	return t.mint(p, ttl, PurposeLogin)
}

// MintSession signs the browser session token a used login link turns into.
func (t *Tokens) MintSession(p Principal, ttl time.Duration) (string, error) {
	signed, _, err := t.mint(p, ttl, PurposeSession)
	return signed, err
}

func (t *Tokens) mint(p Principal, ttl time.Duration, purpose string) (string, string, error) {
	if err := p.Validate(); err != nil {
		return "", "", fmt.Errorf("mint token: %w", err)
	}
	if ttl <= 0 {
		return "", "", fmt.Errorf("mint token: ttl must be positive, got %s", ttl)
	}
	now := t.now().UTC().Truncate(time.Second)
	jti := rand.Text()
	claims := Claims{
		Purpose:      purpose,
		Role:         string(p.Role),
		Departement:  p.Departement,
		Territories:  p.Territories,
		Organisation: p.Organisation,
		Scope:        scopeClaim(p.Scopes),
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        jti,
			Issuer:    t.cfg.Issuer,
			Subject:   p.Subject,
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = t.keys.SigningKeyID()
	signed, err := tok.SignedString(t.keys.signing)
	if err != nil {
		return "", "", fmt.Errorf("sign token: %w", err)
	}
	return signed, jti, nil
}

// Verify checks an API bearer token: its signature (EdDSA only, key chosen by kid from the
// local keyset), issuer, audience, expiry and issue time, and that it is no login link or
// session token; it returns the principal it names.
//
// A client sends the same token with every request until it expires, and the Ed25519
// signature check is most of the cost of a request's authentication: a token that passed
// every check is remembered by its exact bytes (see verifiedCache) and accepted again without
// a new signature check only while the clock is inside the window in which the full check
// would accept it (nbf/iat and exp, with the leeway) and the key that signed it is still in
// the keyset under its kid. Anything else goes through the full check.
func (t *Tokens) Verify(raw string) (Principal, error) {
	now := t.now()
	if p, ok := t.verified.get(raw, now, t.keys); ok {
		return p, nil
	}
	p, claims, err := t.verify(raw, PurposeAPI)
	if err != nil {
		return p, err
	}
	t.verified.put(raw, t.window(p, claims), now)
	return p, nil
}

// window is the verdict of the full check of a token, for the cache: the principal, the span
// of time in which the check accepts the token, and the key that signed it.
func (t *Tokens) window(p Principal, claims Claims) verdict {
	from := claims.IssuedAt.Time
	if claims.NotBefore != nil && claims.NotBefore.After(from) {
		from = claims.NotBefore.Time
	}
	v := verdict{principal: p, from: from.Add(-t.cfg.Leeway), until: claims.ExpiresAt.Add(t.cfg.Leeway)}
	v.kid, _ = claims.header["kid"].(string)
	v.key, _ = t.keys.PublicKey(v.kid)
	return v
}

// VerifySession checks a browser session token as Verify checks a bearer token.
func (t *Tokens) VerifySession(raw string) (Principal, error) {
	p, _, err := t.verify(raw, PurposeSession)
	return p, err
}

// VerifyLogin checks a login link token and returns its principal, id and expiry.
func (t *Tokens) VerifyLogin(raw string) (Principal, string, time.Time, error) {
	p, claims, err := t.verify(raw, PurposeLogin)
	if err != nil {
		return p, "", time.Time{}, err
	}
	if claims.ID == "" {
		return Principal{}, "", time.Time{}, fmt.Errorf("%w: a login link needs a jti", ErrInvalidToken)
	}
	return p, claims.ID, claims.ExpiresAt.Time, nil
}

func (t *Tokens) verify(raw, purpose string) (Principal, Claims, error) {
	var claims Claims
	tok, err := t.parser.ParseWithClaims(raw, &claims, t.keyFor)
	if err != nil {
		return Principal{}, claims, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	claims.header = tok.Header
	if claims.IssuedAt == nil {
		return Principal{}, claims, fmt.Errorf("%w: iat is required", ErrInvalidToken)
	}
	if claims.Purpose != purpose {
		return Principal{}, claims, fmt.Errorf("%w: a %q token is not accepted here", ErrInvalidToken, claims.Purpose)
	}
	p := Principal{
		Subject:      claims.Subject,
		Role:         Role(claims.Role),
		Departement:  claims.Departement,
		Territories:  claims.Territories,
		Organisation: claims.Organisation,
		Scopes:       scopesOf(claims.Scope),
	}
	if err := p.Validate(); err != nil {
		return Principal{}, claims, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return p, claims, nil
}

// scopeClaim writes scopes as the scope claim: nil stays absent.
func scopeClaim(scopes []string) *string {
	if scopes == nil {
		return nil
	}
	joined := strings.Join(scopes, " ")
	return &joined
}

// scopesOf reads the scope claim: absent is nil, present (even empty) is a non-nil list.
func scopesOf(claim *string) []string {
	if claim == nil {
		return nil
	}
	return append([]string{}, strings.Fields(*claim)...)
}

func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("kid header is required")
	}
	pub, ok := t.keys.PublicKey(kid)
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	return pub, nil
}
