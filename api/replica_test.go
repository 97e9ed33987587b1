package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/api"
	"parcours/models"
	"parcours/services/health"
	"parcours/services/indicators"
	"parcours/services/servicetest"
)

// TestReportsReadFromTheReplica starts a real streaming standby of the test cluster and
// shows that with Deps.ReportsDB set, the aggregate routes read there while writes go to
// the primary: with the standby's replay paused, a new amount is acknowledged (by the
// primary) yet the Annexe 3 table keeps the old figure until replay resumes.
func TestReportsReadFromTheReplica(t *testing.T) {
	h := newHarness(t)
	standby := startStandby(t, h.db)

	var inRecovery bool
	require.NoError(t, standby.Raw("SELECT pg_is_in_recovery()").Scan(&inRecovery).Error)
	require.True(t, inRecovery, "ReportsDB is a standby")
	require.NoError(t, h.db.Raw("SELECT pg_is_in_recovery()").Scan(&inRecovery).Error)
	require.False(t, inRecovery, "DB is the primary")

	replica := *h
	sqlDB, err := h.db.DB()
	require.NoError(t, err)
	replica.router = api.NewRouter(api.Deps{
		DB: h.db, ReportsDB: standby, Cipher: h.cipher, Keys: h.keys, Tokens: h.tokens,
		Indicators: withCumulIndicators(withAccompanimentIndicators(withOrientationIndicators(indicators.NewRegistry()))),
		Readiness:  health.Checker{DB: sqlDB}, Metrics: api.NewMetrics(sqlDB),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 4096,
	})

	setOtherFunders := func(amount string) {
		t.Helper()
		rec := replica.do(request{method: http.MethodPatch, path: "/api/v1/actions/4.4?year=2020", as: admin47,
			body: `{"other_funders":"` + amount + `"}`, headers: map[string]string{"If-Match": "*"}})
		require.Equal(t, http.StatusOK, rec.Code, "a write through the replica router goes to the primary: %s", rec.Body)
	}
	setOtherFunders("1234.00")
	waitForReplay(t, h.db, standby)

	// Every route moved to the replica answers there exactly as on the primary: none of them
	// writes (a standby refuses writes with a 500).
	for _, path := range []string{
		"/api/v1/reports/spend?year=2020", "/api/v1/reports/indicators?year=2020",
		"/api/v1/conventions/2020/actions", "/api/v1/conventions/2020/check",
		"/api/v1/actions/4.1/accruals?year=2020", "/api/v1/actions/4.1/exits?year=2020",
		"/api/v1/cumul/envelope?year=2020", "/api/v1/cumul/allocations/summary?year=2020",
		"/dashboard",
	} {
		get := request{method: http.MethodGet, path: path, as: admin47}
		want, got := h.do(get), replica.do(get)
		assert.Equal(t, http.StatusOK, got.Code, "%s: %s", path, got.Body)
		assert.Equal(t, want.Body.String(), got.Body.String(), path)
	}

	annexe3 := request{method: http.MethodGet, path: "/api/v1/conventions/2020/actions", as: admin47}
	assert.Equal(t, "1234.00", otherFunders(t, replica.do(annexe3), "4.4"))

	require.NoError(t, standby.Exec("SELECT pg_wal_replay_pause()").Error)
	require.Eventually(t, func() bool {
		var state string
		return standby.Raw("SELECT pg_get_wal_replay_pause_state()").Scan(&state).Error == nil && state == "paused"
	}, 30*time.Second, 10*time.Millisecond, "the standby pauses its replay")
	setOtherFunders("2345.00")
	assert.Equal(t, "2345.00", otherFunders(t, h.do(annexe3), "4.4"), "the primary has the new figure")
	assert.Equal(t, "1234.00", otherFunders(t, replica.do(annexe3), "4.4"), "the paused standby still serves the old one")

	require.NoError(t, standby.Exec("SELECT pg_wal_replay_resume()").Error)
	waitForReplay(t, h.db, standby)
	assert.Equal(t, "2345.00", otherFunders(t, replica.do(annexe3), "4.4"), "replayed once resumed")
}

// otherFunders is the other funders' amount of action code in an Annexe 3 answer.
func otherFunders(t *testing.T, rec *httptest.ResponseRecorder, code string) string {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := decode[struct {
		Actions []struct {
			Code         string `json:"code"`
			OtherFunders string `json:"other_funders"`
		} `json:"actions"`
	}](t, rec)
	for _, a := range body.Actions {
		if a.Code == code {
			return a.OtherFunders
		}
	}
	t.Fatalf("no action %s in the Annexe 3 table", code)
	return ""
}

// startStandby makes a physical standby of the cluster behind primary (servicetest.StartStandby:
// pg_basebackup -R), and returns a handle on the same database there; the standby is stopped
// and removed when the test ends.
func startStandby(t *testing.T, primary *gorm.DB) *gorm.DB {
	t.Helper()
	var database, maxConns string
	require.NoError(t, primary.Raw("SELECT current_database()").Scan(&database).Error)
	require.NoError(t, primary.Raw("SHOW max_connections").Scan(&maxConns).Error)
	// A hot standby needs at least the primary's max_connections.
	standby := servicetest.StartStandby(t, os.Getenv("DATABASE_URL"), "max_connections="+maxConns)

	db, err := models.Open(standby.URL(database), models.PoolConfig{MaxOpenConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			_ = s.Close()
		}
	})
	return db
}

// waitForReplay waits until the standby has replayed everything the primary has written: up
// to its insert position, since the test cluster commits asynchronously.
func waitForReplay(t *testing.T, primary, standby *gorm.DB) {
	t.Helper()
	var lsn string
	require.NoError(t, primary.Raw("SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn).Error)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var caughtUp bool
		require.NoError(t, standby.Raw("SELECT coalesce(pg_last_wal_replay_lsn() >= ?::pg_lsn, false)", lsn).Scan(&caughtUp).Error)
		if caughtUp {
			return
		}
		require.True(t, time.Now().Before(deadline), "the standby did not replay %s within 30s", lsn)
		time.Sleep(20 * time.Millisecond)
	}
}
