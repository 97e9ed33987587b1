package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// TestSIGTERMUnderLoad sends SIGTERM to the server in the middle of the load while a batch
// of requests is held in flight (a lock on audit_events, which every write and nominative
// read appends to, stalls them in their transactions): the server keeps running until they
// have finished and answered, then exits 0 within its shutdown timeout; requests begun
// before the signal all get their answer, those sent after it find the port closed; and the
// database holds exactly the writes acknowledged with a 2xx.
func TestSIGTERMUnderLoad(t *testing.T) {
	const shutdownTimeout = 15 * time.Second
	r, _ := startRig(t, "PARCOURS_SHUTDOWN_TIMEOUT="+shutdownTimeout.String())
	ctx := context.Background()
	done := attackInBackground(r, 6*time.Second)

	time.Sleep(1500 * time.Millisecond)
	tx, err := r.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, `LOCK TABLE audit_events IN EXCLUSIVE MODE`)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var waiting int
		return r.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&waiting) == nil && waiting >= 8
	}, 5*time.Second, 20*time.Millisecond, "requests pile up on the lock")

	sigterm := time.Now()
	require.NoError(t, r.srv.Terminate())
	time.Sleep(time.Second)
	select {
	case <-r.srv.Exited():
		t.Fatalf("the server exited with requests in flight: %v", r.srv.Err())
	default:
	}
	released := time.Now()
	require.NoError(t, tx.Rollback(), "release the requests")

	require.NoError(t, r.srv.Wait(shutdownTimeout), "the server exits 0 once drained")
	exitedAfter := time.Since(sigterm)
	assert.Less(t, exitedAfter, shutdownTimeout)
	results := <-done

	// A request sent on a kept-alive connection the very moment the server closes it as idle
	// (it has not read it yet) gets no answer: HTTP cannot tell it from one sent after the
	// signal. Requests begun earlier than raceMargin before SIGTERM must all be answered.
	const raceMargin = 250 * time.Millisecond
	var drained, refused int
	for _, res := range results {
		assert.Less(t, int(res.Code), 500, "no 5xx: %s %s", res.URL, res.Error)
		switch {
		case res.Timestamp.Before(sigterm.Add(-raceMargin)) && res.Code == 0:
			t.Errorf("a request begun before SIGTERM got no answer: %s: %s", res.URL, res.Error)
		case res.Timestamp.Before(sigterm) && res.End().After(released):
			drained++
		case res.Code == 0:
			refused++
		}
	}
	t.Logf("SIGTERM: %d requests in all; %d in flight at the signal and answered after it; %d sent after it refused; exit after %s",
		len(results), drained, refused, exitedAfter.Round(time.Millisecond))
	assert.Positive(t, drained, "requests in flight at SIGTERM were answered after it")
	assert.Positive(t, refused, "requests sent after SIGTERM found the server gone")
	requireExact(t, r)
}

// TestPostgresRestartUnderLoad stops PostgreSQL (fast shutdown) in the middle of the load
// and starts it again: while it is down every request is answered quickly with a 503
// problem carrying Retry-After (never a 500, never a hang) and /readyz answers 503; once it
// is back the same server process serves again by itself; and the database holds exactly
// the writes acknowledged with a 2xx.
func TestPostgresRestartUnderLoad(t *testing.T) {
	r, cluster := startRig(t)
	done := attackInBackground(r, 12*time.Second)

	time.Sleep(3 * time.Second)
	cluster.Stop("fast")
	down := time.Now()
	readyWhileDown := probeReadyz(t, r.srv.Base, 3*time.Second)
	starting := time.Now()
	cluster.Start()
	up := time.Now()
	var readyAgain time.Duration
	require.Eventually(t, func() bool {
		readyAgain = time.Since(up)
		return readyz(r.srv.Base) == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond, "/readyz answers 200 again once PostgreSQL is back")
	results := <-done

	select {
	case <-r.srv.Exited():
		t.Fatalf("the server exited: %v", r.srv.Err())
	default:
	}
	assert.NotEmpty(t, readyWhileDown)
	for _, status := range readyWhileDown {
		assert.Equal(t, http.StatusServiceUnavailable, status, "/readyz while PostgreSQL is down")
	}
	var unavailable, unavailableAfterStart int
	for _, res := range results {
		require.NotZero(t, res.Code, "every request is answered: %s: %s", res.URL, res.Error)
		if res.Code >= 500 {
			require.Equal(t, http.StatusServiceUnavailable, int(res.Code), "a 5xx is a 503: %s", res.URL)
			requireUnavailableProblem(t, res)
			unavailable++
			if res.Timestamp.After(up) {
				unavailableAfterStart++
			}
		}
	}
	whileDown := between(results, down.Add(200*time.Millisecond), starting.Add(-300*time.Millisecond))
	require.NotEmpty(t, whileDown)
	for _, res := range whileDown {
		assert.Equal(t, http.StatusServiceUnavailable, int(res.Code), "while PostgreSQL is down: %s", res.URL)
	}
	recoveredAfter := firstSuccess(results, starting).Sub(up)
	recovered := between(results, up.Add(3*time.Second), time.Now())
	require.NotEmpty(t, recovered)
	for _, res := range recovered {
		_, name, _ := resultLabel(res)
		k, _ := kindNamed(name)
		assert.Equal(t, k.want, int(res.Code), "after the restart: %s", res.URL)
	}
	t.Logf("restart: %d requests, %d answered 503 (%d begun while down, slowest %s); /readyz 503 ×%d while down, "+
		"200 again %s after the start; first 2xx %s after it, %d 503 after it", len(results), unavailable, len(whileDown),
		slowest(whileDown).Round(time.Millisecond), len(readyWhileDown), readyAgain.Round(time.Millisecond), recoveredAfter.Round(time.Millisecond), unavailableAfterStart)
	requireExact(t, r)
}

// requireUnavailableProblem checks a 503: problem+json, Retry-After, answered quickly.
func requireUnavailableProblem(t *testing.T, res *vegeta.Result) {
	t.Helper()
	assert.Equal(t, "application/problem+json", res.Headers.Get("Content-Type"), res.URL)
	assert.Equal(t, "5", res.Headers.Get("Retry-After"), res.URL)
	assert.Less(t, res.Latency, 3*time.Second, "a 503 comes quickly, not after a hang: %s", res.URL)
}

// probeReadyz polls /readyz for d and returns the statuses it answered.
func probeReadyz(t *testing.T, base string, d time.Duration) []int {
	t.Helper()
	var statuses []int
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		statuses = append(statuses, readyz(base))
	}
	return statuses
}

// readyz is the status of GET /readyz; 0 without an answer within 5 s.
func readyz(base string) int {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// firstSuccess is when the first 2xx answer to a request begun after from arrived.
func firstSuccess(results []*vegeta.Result, from time.Time) time.Time {
	var first time.Time
	for _, res := range results {
		if res.Timestamp.After(from) && res.Code >= 200 && res.Code < 300 && (first.IsZero() || res.End().Before(first)) {
			first = res.End()
		}
	}
	return first
}

// slowest is the longest latency of results.
func slowest(results []*vegeta.Result) time.Duration {
	var d time.Duration
	for _, res := range results {
		d = max(d, res.Latency)
	}
	return d
}
