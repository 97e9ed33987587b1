package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/api"
	"parcours/models"
	"parcours/services/health"
	"parcours/services/indicators"
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

// startStandby makes a physical standby of the cluster behind primary with pg_basebackup -R,
// starts it on a free port, and returns a handle on the same database there; the standby is
// stopped and removed when the test ends.
func startStandby(t *testing.T, primary *gorm.DB) *gorm.DB {
	t.Helper()
	bin := postgresBinaries(t)
	server, err := url.Parse(os.Getenv("DATABASE_URL"))
	require.NoError(t, err, "DATABASE_URL")
	var database, maxConns string
	require.NoError(t, primary.Raw("SELECT current_database()").Scan(&database).Error)
	require.NoError(t, primary.Raw("SHOW max_connections").Scan(&maxConns).Error)

	dir, err := os.MkdirTemp("", "parcours-standby-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	data, port := filepath.Join(dir, "data"), freePort(t)
	asOwner(t, dir)
	t.Cleanup(func() {
		_ = pgCommand(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop").Run()
		_ = os.RemoveAll(dir)
	})

	runCommand(t, pgCommand(filepath.Join(bin, "pg_basebackup"), "-h", server.Hostname(), "-p", server.Port(), "-U", "postgres",
		"-D", data, "-R", "-X", "stream", "-c", "fast", "--no-sync"))
	// A hot standby needs at least the primary's max_connections.
	runCommand(t, pgCommand(filepath.Join(bin, "pg_ctl"), "-D", data, "-w", "-t", "60", "-l", filepath.Join(dir, "standby.log"),
		"-o", fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s -c fsync=off -c max_connections=%s",
			port, data, maxConns), "start"))

	db, err := models.Open(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, database), models.PoolConfig{MaxOpenConns: 4})
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

// postgresBinaries is the newest /usr/lib/postgresql/*/bin with pg_basebackup, as scripts/pg.sh picks.
func postgresBinaries(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "pg_basebackup")); err == nil {
			return dir
		}
	}
	t.Fatal("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
	return ""
}

func versionOf(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

// pgCommand runs a PostgreSQL binary as the postgres user when we are root (the server
// refuses to run as root), as scripts/pg.sh does.
func pgCommand(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// asOwner hands dir to the postgres user when we are root.
func asOwner(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	require.NoError(t, err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	require.NoError(t, os.Chown(dir, uid, gid))
}

func runCommand(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", cmd.String(), out)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
