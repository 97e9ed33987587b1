package services

import (
	"context"
	"fmt"

	"parcours/services/auth"
)

// Caller returns the authenticated principal ctx carries; every service method scopes its
// work by it. Without one, nothing is served.
func Caller(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return p, fmt.Errorf("no authenticated caller: %w", ErrForbidden)
	}
	return p, nil
}
