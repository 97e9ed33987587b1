package servicetest

import (
	"context"

	"parcours/services/auth"
)

// Admin47 is an administrator of Lot-et-Garonne.
var Admin47 = auth.Principal{Subject: "test-admin", Role: auth.RoleAdmin, Departement: "47"}

// As returns a context carrying p, as the API's authentication would.
func As(p auth.Principal) context.Context {
	return auth.WithPrincipal(context.Background(), p)
}
