package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"parcours/services/servicetest"
)

// The fault tests run the load against a real `parcours serve` built from this tree, on a
// PostgreSQL cluster of their own (servicetest.StartCluster): they stop and restart it,
// which they must never do to the cluster the other packages share.

const (
	testRate          = 30   // requests per second
	testBeneficiaries = 2000 // synthetic beneficiaries
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// parcoursBinary builds cmd/parcours once for the package's tests, with the toolchain that
// built them; PARCOURSLOAD_BIN names a binary to use instead.
func parcoursBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("PARCOURSLOAD_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "parcoursload-bin"); buildErr != nil {
			return
		}
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		out, err := exec.Command(goTool, "build", "-o", filepath.Join(buildDir, "parcours"), "parcours/cmd/parcours").CombinedOutput()
		if err != nil {
			buildErr = err
			buildDir += " (" + string(out) + ")"
		}
	})
	require.NoError(t, buildErr, "go build ./cmd/parcours: %s", buildDir)
	return filepath.Join(buildDir, "parcours")
}

// startRig starts a cluster of the test's own and a prepared run on it (migrated, seeded,
// the server started with serverEnv, the fixtures made); both end with the test.
func startRig(t *testing.T, serverEnv ...string) (*rig, *servicetest.Cluster) {
	t.Helper()
	bin := parcoursBinary(t)
	cluster := servicetest.StartCluster(t)
	logs, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("parcours serve logged:\n%s", tail(string(b), 40))
		}
		_ = logs.Close()
	})
	cfg := config{bin: bin, databaseURL: cluster.URL("parcours"), duration: 30 * time.Second, rate: testRate,
		beneficiaries: testBeneficiaries, serverEnv: serverEnv, serverLogs: logs}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := setUp(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(r.close)
	return r, cluster
}

// attackInBackground runs the mix for d and delivers the results when it ends.
func attackInBackground(r *rig, d time.Duration) <-chan []*vegeta.Result {
	done := make(chan []*vegeta.Result, 1)
	go func() { done <- r.traffic.attack(testRate, d, nil) }()
	return done
}

// requireExact fails the test unless the database holds exactly the acknowledged writes.
func requireExact(t *testing.T, r *rig) []check {
	t.Helper()
	checks, err := verify(context.Background(), r.db, r.before, r.ledger.all())
	require.NoError(t, err)
	for _, c := range checks {
		t.Log(c)
		require.Empty(t, c.problems, "the database holds exactly the acknowledged %s writes", c.kind)
	}
	return checks
}

// between is the results whose request began in [from, to).
func between(results []*vegeta.Result, from, to time.Time) []*vegeta.Result {
	var out []*vegeta.Result
	for _, res := range results {
		if !res.Timestamp.Before(from) && res.Timestamp.Before(to) {
			out = append(out, res)
		}
	}
	return out
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
