package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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

// reportRuns is how many timed runs each side gets (after one warm-up); the median counts.
const reportRuns = 5

// benchReports times the spend and indicator reports of the synthetic département through
// the API vs the very SQL they run (captured from the services) through psql.
func benchReports(ctx context.Context, cfg config, b *bench) (line, error) {
	paths := []string{fmt.Sprintf("/api/v1/reports/spend?year=%d", reportYear), fmt.Sprintf("/api/v1/reports/indicators?year=%d", reportYear)}
	ours, err := medianOf(func() (time.Duration, error) {
		start := time.Now()
		for _, p := range paths {
			if err := b.srv.do(http.MethodGet, p, nil, http.StatusOK); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	})
	if err != nil {
		return line{}, fmt.Errorf("reports: %w", err)
	}
	statements, err := reportSQL(ctx, cfg.databaseURL)
	if err != nil {
		return line{}, err
	}
	baseline, err := psqlTimes(ctx, cfg, b, statements)
	if err != nil {
		return line{}, fmt.Errorf("reports baseline: %w", err)
	}
	return line{name: "report_departement", unit: "ms", ours: ms(ours), baseline: ms(baseline), target: 1.5}, nil
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

// reportSQL runs both reports in process, as an administrator of the synthetic département,
// and returns the statements they sent, with their arguments inlined.
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
	ctx = auth.WithPrincipal(ctx, auth.Principal{Subject: "parcoursbench", Role: auth.RoleAdmin, Departement: "01"})
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
func psqlTimes(ctx context.Context, cfg config, b *bench, statements []string) (time.Duration, error) {
	var script strings.Builder
	script.WriteString("\\set ON_ERROR_STOP on\n\\o /dev/null\n\\timing on\n")
	for range reportRuns + 1 {
		for _, s := range statements {
			script.WriteString(strings.TrimRight(strings.TrimSpace(s), ";") + ";\n")
		}
	}
	file := filepath.Join(b.tmp, "reports.sql")
	if err := os.WriteFile(file, []byte(script.String()), 0o644); err != nil {
		return 0, err
	}
	times, err := psqlTimings(ctx, cfg, file)
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
	out, err := exec.CommandContext(ctx, filepath.Join(cfg.pgBin, "psql"), "-X", "-q", "-f", file, cfg.databaseURL).CombinedOutput()
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
