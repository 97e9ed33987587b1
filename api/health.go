package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services/auth"
)

// ReadinessChecker says whether the service can serve requests.
type ReadinessChecker interface {
	Ready(ctx context.Context) error
}

type statusResponse struct {
	Status string `json:"status"`
}

// healthz answers while the process runs.
func healthz(c *gin.Context) {
	c.JSON(http.StatusOK, statusResponse{Status: "ok"})
}

// readyz answers 200 when the database is reachable and its schema current, else 503.
func readyz(checker ReadinessChecker, logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		defer cancel()
		if err := checker.Ready(ctx); err != nil {
			logger.WarnContext(ctx, "not ready", "error", err)
			abortWithProblem(c, http.StatusServiceUnavailable, err.Error())
			return
		}
		c.JSON(http.StatusOK, statusResponse{Status: "ready"})
	}
}

// jwks publishes the token verification keys.
func jwks(keys *auth.Keyset) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.JSON(http.StatusOK, keys.JWKS())
	}
}
