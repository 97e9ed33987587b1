package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services/audit"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID keeps a well-formed incoming X-Request-Id or makes one, echoes it, and puts it in
// the request context for logs, problems and audit rows.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = rand.Text()
		}
		c.Header(RequestIDHeader, id)
		c.Request = c.Request.WithContext(audit.WithRequestID(c.Request.Context(), id))
		c.Next()
	}
}

// routeLabel is the route template of the request ("/api/v1/territories/:code"), never the
// raw path, so that logs and metrics hold no identifiers.
func routeLabel(c *gin.Context) string {
	if route := c.FullPath(); route != "" {
		return route
	}
	return "unmatched"
}

// accessLog writes one JSON line per request: method, route, status, duration, request id.
func accessLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		logger.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", routeLabel(c)),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", c.Writer.Size()),
			slog.String("request_id", audit.RequestID(c.Request.Context())),
		)
	}
}

// recovery turns a panic into a logged 500 problem.
func recovery(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				logger.ErrorContext(c.Request.Context(), "panic", "request_id", audit.RequestID(c.Request.Context()),
					"route", routeLabel(c), "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					abortWithProblem(c, http.StatusInternalServerError, "an unexpected error occurred; quote the request id to support")
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// wellFormedQuery refuses a query string Go would otherwise parse by silently dropping the
// malformed pairs (e.g. a bad percent-escape in ?cursor=).
func wellFormedQuery() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, err := url.ParseQuery(c.Request.URL.RawQuery); err != nil {
			abortWithProblem(c, http.StatusBadRequest, "the query string is malformed: "+err.Error())
			return
		}
		c.Next()
	}
}

// bodyLimit refuses bodies over limit bytes with 413, announced or not; routes named in
// perRoute (by template) have their own limit.
func bodyLimit(def int64, perRoute map[string]int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := def
		if l, ok := perRoute[c.FullPath()]; ok {
			limit = l
		}
		if c.Request.ContentLength > limit {
			abortWithProblem(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", limit))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

// securityHeaders sets the headers every response carries: no MIME sniffing, no referrer, no
// framing, a Content-Security-Policy that allows nothing but the dashboard's own stylesheet
// (by its hash) and images, and no caching of anything but the public keys. No CORS header is
// ever set: browsers of other origins cannot read the API.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		if !strings.HasPrefix(c.Request.URL.Path, "/.well-known/") {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// contentSecurityPolicy is the policy of every response. The dashboard is the only HTML page:
// its one inline <style> is allowed by its SHA-256, read from the template at start.
var contentSecurityPolicy = "default-src 'none'; style-src " + inlineStyleSource(dashboardHTML()) +
	"; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// inlineStyleSource is the CSP source that allows the first <style> element of page, by its
// hash, or 'none' when page has none.
func inlineStyleSource(page string) string {
	_, rest, ok := strings.Cut(page, "<style>")
	style, _, closed := strings.Cut(rest, "</style>")
	if !ok || !closed {
		return "'none'"
	}
	sum := sha256.Sum256([]byte(style))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// dashboardHTML is the dashboard's template source; its stylesheet holds no template action,
// so it is served exactly as written.
func dashboardHTML() string {
	b, err := templates.ReadFile("templates/dashboard.html")
	if err != nil {
		panic("api: the embedded dashboard template is missing: " + err.Error())
	}
	return string(b)
}
