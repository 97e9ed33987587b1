// Package auth defines who is calling (roles and principals), the Ed25519 keyset, and the
// minting and verification of Parcours JWTs.
package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// Role is what a caller may do; see the security model in DESIGN.md.
type Role string

// The four roles.
const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleAgent   Role = "agent"
	RolePartner Role = "partner"
)

// Roles lists every role, in the order of the security model.
var Roles = []Role{RoleAdmin, RoleManager, RoleAgent, RolePartner}

// ParseRole checks that s names a role.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("unknown role %q (want admin, manager, agent or partner)", s)
	}
	return r, nil
}

var departementPattern = regexp.MustCompile(`^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])$`)

// ValidDepartement reports whether code is a French département code ("47", "2A", "974").
func ValidDepartement(code string) bool { return departementPattern.MatchString(code) }

// Principal is the authenticated caller: who, with which role, in which département, and for
// agents and partners the territories or organisation they are scoped to.
type Principal struct {
	Subject      string
	Role         Role
	Departement  string
	Territories  []string
	Organisation string
	// Scopes narrows what the token may do (the OAuth `scope` claim of partner tokens issued
	// by client credentials). nil means the token carries no scope claim, and its role alone
	// decides; an empty, non-nil list grants nothing.
	Scopes []string
}

// Validate checks that the principal is complete for its role.
func (p Principal) Validate() error {
	var errs []error
	if p.Subject == "" {
		errs = append(errs, errors.New("subject is empty"))
	}
	if _, err := ParseRole(string(p.Role)); err != nil {
		errs = append(errs, err)
	}
	if !ValidDepartement(p.Departement) {
		errs = append(errs, fmt.Errorf("invalid département %q", p.Departement))
	}
	if p.Role == RoleAgent && len(p.Territories) == 0 {
		errs = append(errs, errors.New("an agent needs at least one territory"))
	}
	if p.Role == RolePartner && p.Organisation == "" {
		errs = append(errs, errors.New("a partner needs an organisation"))
	}
	return errors.Join(errs...)
}

// AllowsScope reports whether the principal's token grants scope: always for a token without
// a scope claim, else when the claim lists it.
func (p Principal) AllowsScope(scope string) bool {
	return p.Scopes == nil || slices.Contains(p.Scopes, scope)
}

// HasRole reports whether the principal holds one of roles.
func (p Principal) HasRole(roles ...Role) bool { return slices.Contains(roles, p.Role) }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal carried by ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
