package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"parcours/services/auth"
)

// authenticate requires a valid Parcours bearer token and puts its principal in the request
// context; anything else is a 401 with a WWW-Authenticate challenge (RFC 6750).
func authenticate(tokens *auth.Tokens) gin.HandlerFunc {
	return func(c *gin.Context) {
		scheme, token, _ := strings.Cut(c.GetHeader("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			c.Header("WWW-Authenticate", `Bearer realm="parcours"`)
			abortWithProblem(c, http.StatusUnauthorized, "a bearer token is required")
			return
		}
		p, err := tokens.Verify(token)
		if err != nil {
			renderError(c, err)
			return
		}
		c.Request = c.Request.WithContext(auth.WithPrincipal(c.Request.Context(), p))
		c.Next()
	}
}

// requireRoles lets the request through only for the given roles; others get a 403.
func requireRoles(roles ...auth.Role) gin.HandlerFunc {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	detail := fmt.Sprintf("this operation needs the role %s", strings.Join(names, " or "))
	return func(c *gin.Context) {
		p, ok := auth.PrincipalFrom(c.Request.Context())
		if !ok || !p.HasRole(roles...) {
			abortWithProblem(c, http.StatusForbidden, detail)
			return
		}
		c.Next()
	}
}
