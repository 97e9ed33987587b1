package api

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
)

// refusedConnect is the error pgx gives when nothing listens on the database's port: a real
// *pgconn.ConnectError (its cause is unexported).
func refusedConnect(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().(*net.TCPAddr)
	require.NoError(t, l.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pgconn.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/parcours?sslmode=disable&connect_timeout=2", addr.Port))
	require.Error(t, err)
	return err
}

func TestDatabaseUnavailableClassification(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Severity: "FATAL", Code: code, Message: "test"} }
	wrap := func(err error) error { return fmt.Errorf("record orientation of beneficiary 3: %w", err) }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused (pgconn.ConnectError)", refusedConnect(t), true},
		{"wrapped connect error", wrap(refusedConnect(t)), true},
		{"08006 connection failure", pg("08006"), true},
		{"08001 cannot establish connection", wrap(pg("08001")), true},
		{"08P01 protocol violation", pg("08P01"), true},
		{"57P01 admin shutdown", wrap(pg("57P01")), true},
		{"57P02 crash shutdown", pg("57P02"), true},
		{"57P03 cannot connect now", pg("57P03"), true},
		{"53300 too many connections", pg("53300"), true},
		{"conn closed", wrap(pgconn.ErrConnClosed), true},
		{"driver.ErrBadConn", wrap(driver.ErrBadConn), true},
		{"sql.ErrConnDone", wrap(sql.ErrConnDone), true},
		{"connection reset", wrap(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("i/o timeout")}, true},
		{"server gone mid-message", wrap(io.ErrUnexpectedEOF), true},
		{"server gone between messages", wrap(io.EOF), true},
		{"23505 unique violation", wrap(pg("23505")), false},
		{"40001 serialization failure", pg("40001"), false},
		{"57014 query cancelled (statement timeout)", pg("57014"), false},
		{"42P01 undefined table (a bug)", pg("42P01"), false},
		{"28P01 bad password", pg("28P01"), false},
		{"not found", wrap(services.ErrNotFound), false},
		{"context cancelled", wrap(context.Canceled), false},
		{"plain error", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, databaseUnavailable(tc.err), "%v", tc.err)
		})
	}
}

func TestRenderErrorStatusesForOutages(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"database down", fmt.Errorf("list beneficiaries: %w", refusedConnect(t)), http.StatusServiceUnavailable, "5"},
		{"database shutting down", fmt.Errorf("commit: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01"}), http.StatusServiceUnavailable, "5"},
		{"pool acquire timed out", fmt.Errorf("begin: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, "5"},
		{"a bug", errors.New("boom"), http.StatusInternalServerError, ""},
		{"a conflict", fmt.Errorf("session full: %w", services.ErrConflict), http.StatusConflict, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(rec)
			c.Request = httptest.NewRequest(http.MethodGet, "/api/v1/beneficiaries", nil)
			renderError(c, tc.err)
			assert.Equal(t, tc.status, rec.Code)
			assert.Equal(t, tc.retryAfter, rec.Header().Get("Retry-After"))
			assert.Equal(t, ProblemContentType, rec.Header().Get("Content-Type"))
			var p Problem
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Equal(t, tc.status, p.Status)
			assert.Equal(t, problemType(tc.status), p.Type)
			assert.NotContains(t, p.Detail, "127.0.0.1", "the problem does not leak the database address")
		})
	}
}
