package api

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"

	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/cumul"
)

// ProblemContentType is the media type of every error body (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Instance  string         `json:"instance,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	Errors    []ProblemField `json:"errors,omitempty"`
	// ExistingID names the record a 409 duplicates.
	ExistingID *int64 `json:"existing_id,omitempty"`
	// Remaining is what is left of the envelope a 409 allocation would overspend.
	Remaining *string `json:"remaining,omitempty"`
}

// ProblemField is one invalid input field of a 400 or 422 problem.
type ProblemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problemTypes names each status's problem type; the README lists them.
var problemTypes = map[int]string{
	http.StatusBadRequest:            "bad-request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not-found",
	http.StatusMethodNotAllowed:      "method-not-allowed",
	http.StatusConflict:              "conflict",
	http.StatusPreconditionFailed:    "precondition-failed",
	http.StatusRequestEntityTooLarge: "payload-too-large",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusUnprocessableEntity:   "validation",
	http.StatusPreconditionRequired:  "precondition-required",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
}

// problemType is the URN of the problem type for status.
func problemType(status int) string {
	if slug, ok := problemTypes[status]; ok {
		return "urn:parcours:problem:" + slug
	}
	return "about:blank"
}

// abortWithProblem writes a problem body for status and stops the handler chain.
func abortWithProblem(c *gin.Context, status int, detail string, fields ...services.FieldError) {
	p := newProblem(c, status, detail)
	for _, f := range fields {
		p.Errors = append(p.Errors, ProblemField{Field: f.Field, Message: f.Message})
	}
	writeProblem(c, p)
}

func newProblem(c *gin.Context, status int, detail string) Problem {
	return Problem{
		Type:      problemType(status),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Instance:  c.Request.URL.Path,
		RequestID: audit.RequestID(c.Request.Context()),
	}
}

// writeProblem sends p and stops the handler chain.
func writeProblem(c *gin.Context, p Problem) {
	c.Header("Content-Type", ProblemContentType)
	c.AbortWithStatusJSON(p.Status, p)
}

// requestError is an error of the request's form (body, query, headers) found in the API
// layer, with the HTTP status it deserves.
type requestError struct {
	status int
	detail string
	fields []services.FieldError
}

func (e *requestError) Error() string { return e.detail }

func badRequest(detail string, fields ...services.FieldError) error {
	return &requestError{status: http.StatusBadRequest, detail: detail, fields: fields}
}

// renderError maps an error from any layer to its problem response; it is the one place
// where errors become HTTP statuses. Unknown errors are logged and answered with a bare 500.
func renderError(c *gin.Context, err error) {
	var (
		reqErr   *requestError
		valErr   *services.ValidationError
		dupErr   *services.DuplicateError
		envErr   *cumul.EnvelopeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &dupErr):
		p := newProblem(c, http.StatusConflict, err.Error())
		p.ExistingID = &dupErr.ExistingID
		writeProblem(c, p)
	case errors.As(err, &envErr):
		p := newProblem(c, http.StatusConflict, err.Error())
		remaining := moneyString(envErr.Remaining())
		p.Remaining = &remaining
		writeProblem(c, p)
	case errors.As(err, &reqErr):
		abortWithProblem(c, reqErr.status, reqErr.detail, reqErr.fields...)
	case errors.As(err, &valErr):
		abortWithProblem(c, http.StatusUnprocessableEntity, "the request breaks one or more rules", valErr.Fields...)
	case errors.As(err, &tooLarge):
		abortWithProblem(c, http.StatusRequestEntityTooLarge, "the request body is larger than the limit")
	case errors.Is(err, auth.ErrInvalidToken):
		c.Header("WWW-Authenticate", `Bearer realm="parcours", error="invalid_token"`)
		abortWithProblem(c, http.StatusUnauthorized, err.Error())
	case errors.Is(err, services.ErrNotFound):
		abortWithProblem(c, http.StatusNotFound, err.Error())
	case errors.Is(err, services.ErrConflict):
		abortWithProblem(c, http.StatusConflict, err.Error())
	case errors.Is(err, services.ErrPreconditionFailed):
		abortWithProblem(c, http.StatusPreconditionFailed, err.Error())
	case errors.Is(err, services.ErrPreconditionRequired):
		abortWithProblem(c, http.StatusPreconditionRequired, err.Error())
	case errors.Is(err, services.ErrForbidden):
		abortWithProblem(c, http.StatusForbidden, err.Error())
	case errors.Is(err, services.ErrValidation):
		abortWithProblem(c, http.StatusUnprocessableEntity, err.Error())
	case databaseUnavailable(err):
		slog.WarnContext(c.Request.Context(), "database unavailable", "request_id", audit.RequestID(c.Request.Context()),
			"route", c.FullPath(), "error", err)
		c.Header("Retry-After", strconv.Itoa(RetryAfterSeconds))
		abortWithProblem(c, http.StatusServiceUnavailable, "the database cannot be reached; retry later (a POST retried with the same Idempotency-Key is never applied twice)")
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		slog.WarnContext(c.Request.Context(), "request cancelled", "request_id", audit.RequestID(c.Request.Context()), "error", err)
		c.Header("Retry-After", strconv.Itoa(RetryAfterSeconds))
		abortWithProblem(c, http.StatusServiceUnavailable, "the request was cancelled or timed out")
	default:
		slog.ErrorContext(c.Request.Context(), "unhandled error", "request_id", audit.RequestID(c.Request.Context()),
			"route", c.FullPath(), "error", err)
		abortWithProblem(c, http.StatusInternalServerError, "an unexpected error occurred; quote the request id to support")
	}
}

// RetryAfterSeconds is the Retry-After of a 503: how long a client should wait before it
// retries while the database is down or restarting.
const RetryAfterSeconds = 5

// unavailableStates are the SQLSTATEs outside class 08 (connection exception) that say the
// server cannot serve this connection now: admin_shutdown, crash_shutdown, cannot_connect_now
// (starting up or shutting down), too_many_connections.
var unavailableStates = []string{"57P01", "57P02", "57P03", "53300"}

// databaseUnavailable tells whether err means the database could not be reached or dropped
// the connection — a failure of the service's dependency, not of the request, which a retry
// after a while may cure (503) — rather than a bug (500). Such an error never leaves a
// partial write: the transaction it interrupted is rolled back by the server (unless the
// connection broke after its COMMIT reached the server: retry writes with an Idempotency-Key).
func databaseUnavailable(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return strings.HasPrefix(pgErr.Code, "08") || slices.Contains(unavailableStates, pgErr.Code)
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	for _, target := range []error{pgconn.ErrConnClosed, driver.ErrBadConn, sql.ErrConnDone, io.ErrUnexpectedEOF, io.EOF} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
