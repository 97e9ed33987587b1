// Command parcoursload is the load test of Parcours (make loadtest): against the
// DATABASE_URL of a throwaway cluster, it migrates, seeds one synthetic département, starts
// the real `parcours serve` on a loopback port and drives it with vegeta at a constant rate
// for a bounded time with a mix of traffic — agents recording orientation decisions and
// convocations, partners recording attendance, reading pathways and following the change
// feed, managers pulling the spend and indicator reports, agents reading beneficiaries.
//
// Every write carries its own X-Request-Id (and, for a POST, an Idempotency-Key). Afterwards
// the database must hold exactly the writes acknowledged with a 2xx: each of their rows,
// audit rows and keys, and nothing of any other write. It prints the requests, statuses and
// latencies (p50, p99) per kind, and exits 1 on any 5xx, any request left without an answer,
// any mismatch, or a server that does not exit cleanly on SIGTERM.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"parcours/cmd/internal/parcoursproc"
)

// config is what the command line sets.
type config struct {
	bin           string // the parcours binary
	databaseURL   string
	duration      time.Duration
	rate          int // requests per second
	beneficiaries int
	serverEnv     []string  // extra environment of parcours serve
	serverLogs    io.Writer // where parcours serve logs
}

func main() {
	cfg := config{databaseURL: os.Getenv("DATABASE_URL"), serverLogs: os.Stderr}
	flag.StringVar(&cfg.bin, "bin", "bin/parcours", "the parcours binary")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Minute, "how long the traffic lasts")
	flag.IntVar(&cfg.rate, "rate", 50, "requests per second, all kinds together")
	flag.IntVar(&cfg.beneficiaries, "beneficiaries", 20000, "synthetic beneficiaries of the one département")
	flag.Parse()
	if err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "parcoursload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.databaseURL == "" {
		return errors.New("DATABASE_URL is not set (run through scripts/pg.sh test, as make loadtest does)")
	}
	r, err := setUp(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.close()
	fmt.Fprintf(out, "load: %s at %d req/s against parcours serve (%d beneficiaries, %d partner clients, %d sessions)\n",
		cfg.duration, cfg.rate, cfg.beneficiaries, len(r.fx.partners), len(r.fx.sessions))
	results := r.traffic.attack(cfg.rate, cfg.duration, nil)
	stopped := r.srv.Stop(30 * time.Second)
	s := summarize(results)
	s.print(out)
	failures := s.failures()
	if stopped != nil {
		failures = append(failures, "the server did not exit cleanly on SIGTERM: "+stopped.Error())
	}
	checks, err := verify(ctx, r.db, r.before, r.ledger.all())
	if err != nil {
		return err
	}
	for _, c := range checks {
		fmt.Fprintln(out, "load", c)
		if len(c.problems) > 0 {
			failures = append(failures, "the database does not hold exactly the acknowledged "+c.kind+" writes")
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("FAILED: %v", failures)
	}
	fmt.Fprintln(out, "load: OK — no 5xx, every request answered, the database holds exactly the acknowledged writes")
	return nil
}

// rig is a prepared run: the database, the running server, the fixtures and the traffic.
type rig struct {
	tmp     string
	env     []string
	db      *sql.DB
	srv     *parcoursproc.Server
	fx      *fixtures
	ledger  *ledger
	traffic *traffic
	before  snapshot
}

// setUp migrates and seeds the database, starts the server and prepares the traffic.
func setUp(ctx context.Context, cfg config) (r *rig, err error) {
	r = &rig{}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.tmp, err = os.MkdirTemp("", "parcoursload"); err != nil {
		return r, err
	}
	r.env = environment(cfg.databaseURL, filepath.Join(r.tmp, "keys"), cfg.serverEnv...)
	if err = prepare(ctx, cfg.bin, r.env, cfg.beneficiaries); err != nil {
		return r, err
	}
	if r.db, err = sql.Open("pgx", cfg.databaseURL); err != nil {
		return r, err
	}
	if r.srv, err = startServer(cfg.bin, r.env, cfg.serverLogs); err != nil {
		return r, err
	}
	seconds := cfg.duration.Seconds()
	if r.fx, err = newFixtures(ctx, cfg.bin, r.env, r.db, r.srv.Base, partnersFor(cfg.rate), sessionsFor(cfg.rate, seconds),
		cfg.duration+time.Hour); err != nil {
		return r, err
	}
	if r.before, err = takeSnapshot(ctx, r.db); err != nil {
		return r, err
	}
	r.ledger = newLedger()
	r.traffic = newTraffic(r.srv.Base, r.fx, r.ledger)
	return r, nil
}

// close stops the server if it still runs and removes the run's files.
func (r *rig) close() {
	if r.srv != nil {
		_ = r.srv.Stop(30 * time.Second)
	}
	if r.db != nil {
		_ = r.db.Close()
	}
	if r.tmp != "" {
		_ = os.RemoveAll(r.tmp)
	}
}
