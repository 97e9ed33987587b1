// Package api is the HTTP face of Parcours: the gin router, its middleware (request id,
// access log, metrics, recovery, body limit, authentication, roles), the handlers and their
// DTOs, and the one mapping of errors to RFC 9457 problems.
package api

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/indicators"
	"parcours/services/pii"
	"parcours/services/reports"
	"parcours/services/territories"
)

// DefaultMaxBodyBytes is the request body limit when Deps leaves it at zero.
const DefaultMaxBodyBytes = 1 << 20

// Deps is what the router needs.
type Deps struct {
	DB *gorm.DB
	// ReportsDB serves the read-only aggregate routes (reports, Annexe 3 and its check,
	// accruals, exits, the cumul envelope and summary, the dashboard): a read replica when
	// DATABASE_REPLICA_URL is set; nil: DB. Nothing writes or audits through it.
	ReportsDB    *gorm.DB
	Indicators   *indicators.Registry // computed indicators; nil: none
	Cipher       *pii.Cipher          // protects the NIRs
	Keys         *auth.Keyset
	Tokens       *auth.Tokens
	Readiness    ReadinessChecker
	Metrics      *Metrics
	Logger       *slog.Logger
	MaxBodyBytes int64
	// MaxImportBytes is the body limit of the file import routes (DefaultMaxImportBytes when zero).
	MaxImportBytes int64
	// PartnerRate and PartnerBurst size each partner's token bucket: requests per second and
	// requests at once (DefaultPartnerRate and DefaultPartnerBurst when zero).
	PartnerRate  float64
	PartnerBurst int
	// IdempotencyWait is how long a POST waits for a concurrent one with the same
	// Idempotency-Key before a 409 (idempotency.DefaultWait when zero).
	IdempotencyWait time.Duration
	// Now is the clock of the client lockout, the rate limit and the idempotency keys
	// (time.Now when nil).
	Now func() time.Time
	// SecretHashCost is the bcrypt cost of new API client secrets (bcrypt's default when zero).
	SecretHashCost int
}

// reportsDB is the handle of the read-only aggregate routes: the replica, else the primary.
func (d Deps) reportsDB() *gorm.DB {
	if d.ReportsDB != nil {
		return d.ReportsDB
	}
	return d.DB
}

// DefaultMaxImportBytes is the body limit of file imports when Deps leaves it at zero.
const DefaultMaxImportBytes = 64 << 20

// importRoutes are the routes whose bodies are files, with the larger import limit.
var importRoutes = []string{"/api/v1/imports/beneficiaries"}

// NewRouter wires every route of Parcours.
func NewRouter(d Deps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if d.MaxImportBytes <= 0 {
		d.MaxImportBytes = DefaultMaxImportBytes
	}
	limits := map[string]int64{}
	for _, route := range importRoutes {
		limits[route] = d.MaxImportBytes
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	_ = r.SetTrustedProxies(nil)
	r.Use(securityHeaders())
	r.Use(requestID(), d.Metrics.middleware(), accessLog(d.Logger), recovery(d.Logger), wellFormedQuery(), bodyLimit(d.MaxBodyBytes, limits))
	r.NoRoute(func(c *gin.Context) {
		abortWithProblem(c, http.StatusNotFound, "no route matches "+c.Request.URL.Path)
	})
	r.NoMethod(func(c *gin.Context) {
		abortWithProblem(c, http.StatusMethodNotAllowed, "method "+c.Request.Method+" is not allowed here; see the Allow header")
	})

	r.GET("/healthz", healthz)
	r.GET("/readyz", readyz(d.Readiness, d.Logger))
	r.GET("/metrics", d.Metrics.handler())
	r.GET("/.well-known/jwks.json", jwks(d.Keys))

	registerDashboard(r, d, reports.New(d.reportsDB(), d.Indicators))

	v1 := r.Group("/api/v1", authenticate(d.Tokens))
	v1.Use(callerControls(d)...) // partner rate limit and scopes, Idempotency-Key on POST
	adminOnly := requireRoles(auth.RoleAdmin)

	th := territoryHandlers{svc: territories.New(d.DB)}
	v1.GET("/territories", handle(th.list))
	v1.GET("/territories/:code", handle(th.get))
	v1.POST("/territories", adminOnly, handle(th.create))
	v1.PATCH("/territories/:code", adminOnly, handle(th.update))

	readers := requireRoles(auth.RoleAdmin, auth.RoleManager, auth.RoleAgent)
	indicatorSvc := indicators.New(d.DB, d.Indicators)
	bh := budgetHandlers{svc: budget.New(d.DB), indicators: indicatorSvc}
	// The Annexe 3 table and its check only read: they are served from the reports handle.
	reportBudget := budgetHandlers{svc: budget.New(d.reportsDB())}
	v1.GET("/conventions/:year/actions", readers, handle(reportBudget.annexe3))
	v1.POST("/conventions/:year/actions", adminOnly, handle(bh.createAction))
	v1.GET("/conventions/:year/check", readers, handle(reportBudget.check))
	v1.POST("/conventions/:year/funding-lines", adminOnly, handle(bh.createFundingLine))
	v1.GET("/funding-lines/:id", readers, getByID(fundingLineView, bh.svc.FundingLine))
	v1.PATCH("/funding-lines/:id", adminOnly, patchByID[fundingLineRequest](fundingLineView, bh.svc.UpdateFundingLine))
	v1.GET("/actions/:code", readers, handle(bh.getAction))
	v1.PATCH("/actions/:code", adminOnly, handle(bh.updateAction))
	v1.POST("/actions/:code/budget-lines", adminOnly, handle(bh.createBudgetLine))
	v1.GET("/budget-lines/:id", readers, getByID(budgetLineView, bh.svc.BudgetLine))
	v1.PATCH("/budget-lines/:id", adminOnly, patchByID[budgetLineRequest](budgetLineView, bh.svc.UpdateBudgetLine))

	ih := indicatorHandlers{svc: indicatorSvc}
	v1.POST("/indicators", adminOnly, handle(ih.create))
	v1.GET("/indicators/:code", readers, handle(ih.get))
	v1.PATCH("/indicators/:code", adminOnly, handle(ih.update))

	registerBeneficiaries(v1, d)
	registerImports(v1, d)
	registerOrganisations(v1, d)
	registerSessions(v1, d)
	registerOrientations(v1, d)
	registerAccompaniment(v1, d)
	registerAccruals(v1, d)
	registerCumul(v1, d)
	registerExpenses(v1, d)
	registerReports(v1, d)
	registerFeed(v1, d)
	registerClients(r, v1, d)

	return r
}

// RouteKey is "METHOD /path/{param}", the form routes take in openapi.yaml.
func RouteKey(method, ginPath string) string {
	parts := strings.Split(ginPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return method + " " + strings.Join(parts, "/")
}
