package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"parcours/services/auth"
	"parcours/services/clients"
	"parcours/services/idempotency"
)

// anyPartner marks a route every partner token may call whatever its scopes: reference data
// that names no one.
const anyPartner = ""

// partnerScopes is the scope a partner token needs on each route a partner may call (the
// README's scope table). A token with a scope claim (every token of POST /api/v1/oauth/token)
// is refused (403) on a route missing from this table, so a new route is closed to partners
// until it is listed here; a token without the claim (`parcours token`) is not narrowed by
// scopes and its role alone decides.
var partnerScopes = map[string]string{
	"GET /api/v1/territories":                            anyPartner,
	"GET /api/v1/territories/{code}":                     anyPartner,
	"GET /api/v1/organisations":                          anyPartner,
	"GET /api/v1/organisations/{id}":                     anyPartner,
	"GET /api/v1/organisations/{id}/referents":           anyPartner,
	"GET /api/v1/referents/{id}":                         anyPartner,
	"GET /api/v1/programmes":                             anyPartner,
	"GET /api/v1/programmes/{code}":                      anyPartner,
	"GET /api/v1/orientation-sessions":                   anyPartner,
	"GET /api/v1/orientation-sessions/{id}":              anyPartner,
	"GET /api/v1/orientation-sessions/{id}/summary":      anyPartner,
	"GET /api/v1/orientation-sessions/{id}/convocations": clients.ScopeBeneficiariesRead,
	"GET /api/v1/beneficiaries":                          clients.ScopeBeneficiariesRead,
	"GET /api/v1/beneficiaries/{id}":                     clients.ScopeBeneficiariesRead,
	"GET /api/v1/beneficiaries/{id}/orientations":        clients.ScopeBeneficiariesRead,
	"GET /api/v1/beneficiaries/{id}/timeline":            clients.ScopeBeneficiariesRead,
	"GET /api/v1/enrolments":                             clients.ScopeBeneficiariesRead,
	"GET /api/v1/enrolments/{id}":                        clients.ScopeBeneficiariesRead,
	"GET /api/v1/enrolments/{id}/events":                 clients.ScopeBeneficiariesRead,
	"GET /api/v1/enrolments/{id}/contracts":              clients.ScopeBeneficiariesRead,
	"PATCH /api/v1/convocations/{id}":                    clients.ScopeAttendanceWrite,
	"POST /api/v1/beneficiaries/{id}/orientations":       clients.ScopeOrientationsWrite,
	"PATCH /api/v1/enrolments/{id}":                      clients.ScopeEnrolmentsWrite,
	"POST /api/v1/enrolments/{id}/contracts":             clients.ScopeContractsWrite,
	"GET /api/v1/events":                                 clients.ScopeEventsRead,
}

// callerControls are the controls every /api/v1 request goes through after authentication:
// the partner rate limit, the partner gate (revoked client, scopes) and Idempotency-Key on
// POST.
func callerControls(d Deps) []gin.HandlerFunc {
	return []gin.HandlerFunc{
		newPartnerLimiter(d.PartnerRate, d.PartnerBurst, d.Now).middleware(),
		partnerGate(clients.New(d.DB, d.Tokens)),
		idempotent(idempotency.New(d.DB, d.IdempotencyWait).WithClock(d.Now)),
	}
}

// partnerGate refuses a partner token whose API client has been revoked (401), and one whose
// scopes do not cover the route (403, see partnerScopes). Other roles pass.
func partnerGate(svc *clients.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := auth.PrincipalFrom(c.Request.Context())
		if !ok || p.Role != auth.RolePartner {
			c.Next()
			return
		}
		active, err := svc.Active(c.Request.Context(), p.Departement, p.Subject)
		if err != nil {
			renderError(c, err)
			return
		}
		if !active {
			renderError(c, fmt.Errorf("%w: its API client was revoked", auth.ErrInvalidToken))
			return
		}
		scope, listed := partnerScopes[RouteKey(c.Request.Method, c.FullPath())]
		switch {
		case !listed && p.Scopes != nil:
			abortWithProblem(c, http.StatusForbidden, "partner tokens may not call this operation")
		case listed && scope != anyPartner && !p.AllowsScope(scope):
			abortWithProblem(c, http.StatusForbidden, fmt.Sprintf("this operation needs the scope %s, which the token does not carry", scope))
		default:
			c.Next()
		}
	}
}
