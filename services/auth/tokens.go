package auth

import (
	"errors"
	"fmt"
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

// Claims is the payload of a Parcours token.
type Claims struct {
	Role         string   `json:"role"`
	Departement  string   `json:"dep"`
	Territories  []string `json:"territories,omitempty"`
	Organisation string   `json:"org,omitempty"`
	jwt.RegisteredClaims
}

// Tokens mints and verifies EdDSA-signed JWTs with a keyset.
type Tokens struct {
	keys   *Keyset
	cfg    TokenConfig
	now    func() time.Time
	parser *jwt.Parser
}

// NewTokens returns a minter and verifier; the leeway is capped at MaxLeeway.
func NewTokens(keys *Keyset, cfg TokenConfig) *Tokens {
	cfg.Leeway = min(max(cfg.Leeway, 0), MaxLeeway)
	t := &Tokens{keys: keys, cfg: cfg, now: time.Now}
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

// Mint signs a token for p, valid for ttl.
func (t *Tokens) Mint(p Principal, ttl time.Duration) (string, error) {
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("mint token: ttl must be positive, got %s", ttl)
	}
	now := t.now().UTC().Truncate(time.Second)
	claims := Claims{
		Role:         string(p.Role),
		Departement:  p.Departement,
		Territories:  p.Territories,
		Organisation: p.Organisation,
		RegisteredClaims: jwt.RegisteredClaims{
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
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}

// Verify checks raw's signature (EdDSA only, key chosen by kid from the local keyset), its
// issuer, audience, expiry and issue time, and returns the principal it names.
func (t *Tokens) Verify(raw string) (Principal, error) {
	var claims Claims
	_, err := t.parser.ParseWithClaims(raw, &claims, t.keyFor)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.IssuedAt == nil {
		return Principal{}, fmt.Errorf("%w: iat is required", ErrInvalidToken)
	}
	p := Principal{
		Subject:      claims.Subject,
		Role:         Role(claims.Role),
		Departement:  claims.Departement,
		Territories:  claims.Territories,
		Organisation: claims.Organisation,
	}
	if err := p.Validate(); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return p, nil
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
