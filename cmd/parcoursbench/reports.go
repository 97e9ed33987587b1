package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"parcours/models"
	"parcours/services/accompindicators"
	"parcours/services/auth"
	"parcours/services/cumul"
	"parcours/services/indicators"
	"parcours/services/orientations"
	"parcours/services/reports"
)

// reportYear is the convention year of the synthetic data.
const reportYear = 2020

// reportDepartement is the synthetic département whose reports are timed, in the one-
// département database (prepare seeds it, PARCOURS_DEPARTEMENT binds the token to it) and in
// the national one.
const reportDepartement = "01"

// reportRuns is how many timed runs each side gets (after one warm-up); the median counts.
const reportRuns = 15

// reportPaths are the two reports a figure times: spend and indicators of reportYear.
var reportPaths = []string{
	fmt.Sprintf("/api/v1/reports/spend?year=%d", reportYear),
	fmt.Sprintf("/api/v1/reports/indicators?year=%d", reportYear),
}

// benchReports times the spend and indicator reports of the synthetic département through
// the API vs the very SQL they run (captured from the services) through psql.
func benchReports(ctx context.Context, cfg config, b *bench) (line, error) {
	if err := settle(ctx, cfg.databaseURL); err != nil {
		return line{}, err
	}
	ours, baseline, err := timeReports(ctx, cfg, b.srv, cfg.databaseURL, b.tmp)
	if err != nil {
		return line{}, err
	}
	return line{name: "report_departement", unit: "ms", ours: ms(ours), baseline: ms(baseline), target: 1.5}, nil
}

// timeReports times the reports of reportDepartement through srv, and the SQL they send
// through psql on the database at url: the medians of reportRuns runs after a warm-up.
func timeReports(ctx context.Context, cfg config, srv *server, url, tmp string) (ours, baseline time.Duration, err error) {
	ours, err = medianOf(func() (time.Duration, error) {
		start := time.Now()
		for _, p := range reportPaths {
			if err := srv.do(http.MethodGet, p, nil, http.StatusOK); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("reports: %w", err)
	}
	statements, err := reportSQL(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	baseline, err = psqlTimes(ctx, cfg, url, tmp, statements)
	if err != nil {
		return 0, 0, fmt.Errorf("reports baseline: %w", err)
	}
	return ours, baseline, nil
}

// settle vacuums and analyzes the database at url, so that the reports are timed, through the
// API and through psql alike, on tables whose statistics and visibility map include the rows
// the write and read figures just added, rather than with autovacuum catching up during one
// side's runs and not the other's.
func settle(ctx context.Context, url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("vacuum before the reports: %w", err)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// medianOf runs f once to warm up, then reportRuns times, and returns the median.
func medianOf(f func() (time.Duration, error)) (time.Duration, error) {
	var runs []time.Duration
	for range reportRuns + 1 {
		d, err := f()
		if err != nil {
			return 0, err
		}
		runs = append(runs, d)
	}
	return median(runs[1:]), nil
}

func median(runs []time.Duration) time.Duration {
	slices.Sort(runs)
	return runs[len(runs)/2]
}

// reportSQL runs both reports in process, as an administrator of reportDepartement, on the
// database at url, and returns the statements they sent, with their arguments inlined.
func reportSQL(ctx context.Context, url string) ([]string, error) {
	db, err := models.Open(url, models.PoolConfig{MaxOpenConns: 2, MaxIdleConns: 2})
	if err != nil {
		return nil, err
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}()
	rec := &recorder{}
	registry := indicators.NewRegistry()
	orientations.RegisterIndicators(registry)
	accompindicators.RegisterIndicators(registry)
	cumul.RegisterIndicators(registry)
	svc := reports.New(db.Session(&gorm.Session{Logger: rec}), registry)
	ctx = auth.WithPrincipal(ctx, auth.Principal{Subject: "parcoursbench", Role: auth.RoleAdmin, Departement: reportDepartement})
	if _, err := svc.Spend(ctx, reportYear, nil); err != nil {
		return nil, fmt.Errorf("spend report: %w", err)
	}
	if _, err := svc.IndicatorReport(ctx, indicators.ReportFilter{Year: reportYear}); err != nil {
		return nil, fmt.Errorf("indicator report: %w", err)
	}
	return rec.statements, nil
}

// recorder is a gorm logger that keeps the SQL of every statement.
type recorder struct {
	mu         sync.Mutex
	statements []string
}

func (r *recorder) LogMode(logger.LogLevel) logger.Interface      { return r }
func (r *recorder) Info(context.Context, string, ...interface{})  {}
func (r *recorder) Warn(context.Context, string, ...interface{})  {}
func (r *recorder) Error(context.Context, string, ...interface{}) {}

// Trace keeps the statement's SQL.
func (r *recorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statements = append(r.statements, sql)
}

var psqlTimeRE = regexp.MustCompile(`(?m)^Time: ([0-9.]+) ms`)

// psqlTimes runs the statements through psql, once to warm up then reportRuns times, and
// returns the median of the summed \timing of one run.
func psqlTimes(ctx context.Context, cfg config, url, tmp string, statements []string) (time.Duration, error) {
	var script strings.Builder
	script.WriteString("\\set ON_ERROR_STOP on\n\\o /dev/null\n\\timing on\n")
	for range reportRuns + 1 {
		for _, s := range statements {
			script.WriteString(strings.TrimRight(strings.TrimSpace(s), ";") + ";\n")
		}
	}
	file := filepath.Join(tmp, "reports.sql")
	if err := os.WriteFile(file, []byte(script.String()), 0o644); err != nil {
		return 0, err
	}
	times, err := psqlTimingsOn(ctx, cfg, url, file)
	if err != nil {
		return 0, err
	}
	if len(times) != len(statements)*(reportRuns+1) {
		return 0, fmt.Errorf("psql printed %d timings for %d statements", len(times), len(statements)*(reportRuns+1))
	}
	var runs []time.Duration
	for i := 0; i < len(times); i += len(statements) {
		var sum time.Duration
		for _, t := range times[i : i+len(statements)] {
			sum += t
		}
		runs = append(runs, sum)
	}
	return median(runs[1:]), nil
}

// psqlTimings runs a psql script and returns each "Time:" line \timing printed.
func psqlTimings(ctx context.Context, cfg config, file string) ([]time.Duration, error) {
	return psqlTimingsOn(ctx, cfg, cfg.databaseURL, file)
}

// psqlTimingsOn runs a psql script on the database at url and returns each "Time:" line
// \timing printed.
func psqlTimingsOn(ctx context.Context, cfg config, url, file string) ([]time.Duration, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(cfg.pgBin, "psql"), "-X", "-q", "-f", file, url).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("psql: %w: %s", err, out)
	}
	var times []time.Duration
	for _, m := range psqlTimeRE.FindAllSubmatch(out, -1) {
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			return nil, err
		}
		times = append(times, time.Duration(v*float64(time.Millisecond)))
	}
	return times, nil
}

// The national data set of report_national (DESIGN §5: every département on one primary):
// nationalBeneficiaries over nationalDepartements, seeded into nationalDatabase, a second
// database of the cluster. The figure is the reports of reportDepartement, a département of
// the set, served from it.
const (
	nationalDatabase      = "parcours_national"
	nationalDepartements  = 101
	nationalBeneficiaries = 2000000
	// nationalBound is the absolute target: the national report under 2 s.
	nationalBound = 2 * time.Second
)

// benchNational measures report_national: it creates nationalDatabase, migrates it, seeds
// cfg.national beneficiaries over nationalDepartements into it (printing how long that
// took), starts a second `parcours serve` on it and times the reports of reportDepartement
// as benchReports does. The database is dropped afterwards, so that its autovacuum does not
// weigh on the figures that follow.
func benchNational(ctx context.Context, cfg config, b *bench) (string, error) {
	if cfg.national == 0 {
		return notMeasured("report_national", "skipped: -national 0"), nil
	}
	url, drop, err := createDatabase(ctx, cfg.databaseURL, nationalDatabase)
	if err != nil {
		return "", err
	}
	defer drop()
	env := append(slices.Clip(b.env), "DATABASE_URL="+url, "DATABASE_REPLICA_URL=", "PARCOURS_DEPARTEMENT="+reportDepartement)
	if err := seedNational(ctx, cfg, env); err != nil {
		return "", err
	}
	srv, err := startServer(ctx, cfg, env)
	if err != nil {
		return "", err
	}
	defer srv.stop()
	ours, baseline, err := timeReports(ctx, cfg, srv, url, b.tmp)
	if err != nil {
		return "", fmt.Errorf("national %w", err)
	}
	return nationalLine(ours, baseline), nil
}

// seedNational migrates the national database and seeds it, and prints how long the seed took.
func seedNational(ctx context.Context, cfg config, env []string) error {
	if _, err := parcours(ctx, cfg, env, "migrate", "up"); err != nil {
		return err
	}
	start := time.Now()
	if _, err := parcours(ctx, cfg, env, "seed", "synthetic", "--departements", fmt.Sprint(nationalDepartements),
		"--beneficiaries", fmt.Sprint(cfg.national), "--seed", "1"); err != nil {
		return err
	}
	fmt.Printf("national data set: %d beneficiaries over %d départements seeded (COPY, vacuum, analyze) in %s\n",
		cfg.national, nationalDepartements, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// nationalLine is the report_national figure: met when the ratio is at most 1.5 and ours is
// under nationalBound, both shown in the target.
func nationalLine(ours, baseline time.Duration) string {
	l := line{name: "report_national", unit: "ms", ours: ms(ours), baseline: ms(baseline), target: 1.5}
	ratio := l.ours / l.baseline
	verdict := "missed"
	if ratio <= l.target && ours < nationalBound {
		verdict = "met"
	}
	return fmt.Sprintf("bench %s: ours=%.1f%s baseline=%.1f%s ratio=%.2f target=<=%.1f,ours<%dms %s",
		l.name, l.ours, l.unit, l.baseline, l.unit, ratio, l.target, nationalBound.Milliseconds(), verdict)
}

// createDatabase creates database name in the cluster of url and returns its URL and a
// function that drops it. An existing database of that name is an error, never dropped.
func createDatabase(ctx context.Context, url, name string) (string, func(), error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return "", nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return "", nil, err
	}
	quoted := pgx.Identifier{name}.Sanitize()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+quoted); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop := func() {
		defer db.Close()
		if _, err := db.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE "+quoted+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "parcoursbench: drop database %s: %v\n", name, err)
		}
	}
	return u.String(), drop, nil
}
