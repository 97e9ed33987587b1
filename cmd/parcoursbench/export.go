package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// The sizes of the export figure: the measured export, the baseline export (on the same
// server, the same query) and the absolute target on the peak RSS.
const (
	exportRows         = 1_000_000
	exportBaselineRows = 10_000
	exportTargetMB     = 100
)

// exportPath is the export the figure downloads: the whole ledger of the département, as CSV.
const exportPath = "/api/v1/expenses?format=csv"

// exportFigure is the peak RSS of the server while it streams the export of exportRows
// entries (ours) and of exportBaselineRows entries (baseline). The target is absolute, ours
// under exportTargetMB; the ratio shows whether the peak grows with the number of rows.
type exportFigure struct {
	ours, baseline exportRun
}

func (f exportFigure) String() string {
	verdict := "missed"
	if f.ours.peakMB < exportTargetMB {
		verdict = "met"
	}
	return fmt.Sprintf("bench export_rss_mb: ours=%.1fMB baseline=%.1fMB ratio=%.2f target=<%dMB %s",
		f.ours.peakMB, f.baseline.peakMB, f.ours.peakMB/f.baseline.peakMB, exportTargetMB, verdict)
}

// exportRun is one download of the export: the server's peak RSS while it ran, the rows and
// bytes received and how long it took.
type exportRun struct {
	rows      int
	bytes     int64
	took      time.Duration
	startMB   float64 // the server's RSS when the download started
	peakMB    float64 // its peak RSS (VmHWM) during the download
	rowsPerS  float64
	megabytes float64
}

func (r exportRun) describe() string {
	return fmt.Sprintf("  export of %d rows: %.1f MB of CSV in %.2fs (%.0f rows/s, %.1f MB/s); server RSS %.1f MB before, peak %.1f MB",
		r.rows, r.megabytes, r.took.Seconds(), r.rowsPerS, r.megabytes/r.took.Seconds(), r.startMB, r.peakMB)
}

// benchExport fills the ledger of the synthetic département to exportBaselineRows entries
// and downloads its CSV export, then to exportRows and downloads it again, recording the
// server's peak RSS during each download.
func benchExport(ctx context.Context, cfg config, b *bench) (exportFigure, error) {
	db, err := sql.Open("pgx", cfg.databaseURL)
	if err != nil {
		return exportFigure{}, err
	}
	defer db.Close()
	var f exportFigure
	for _, size := range []struct {
		rows int
		run  *exportRun
	}{{exportBaselineRows, &f.baseline}, {exportRows, &f.ours}} {
		if err := fillLedger(ctx, db, size.rows); err != nil {
			return f, err
		}
		if *size.run, err = b.downloadExport(ctx, size.rows); err != nil {
			return f, err
		}
		fmt.Println(size.run.describe())
	}
	return f, nil
}

// fillLedger adds synthetic entries to the ledger of département 01 until it holds rows
// entries, in one INSERT … SELECT over generate_series: entries on every fiche of 2020,
// dated across the year, 40 % commitments of 1 000 to 5 000 € and 60 % payments of 100 to
// 2 000 € (so the payments stay within the commitments), attributed to the State, to the
// département or split half and half, from suppliers whose names need CSV quoting.
func fillLedger(ctx context.Context, db *sql.DB, rows int) error {
	var held int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM expenses WHERE departement = '01'`).Scan(&held); err != nil {
		return fmt.Errorf("count the ledger: %w", err)
	}
	if held > rows {
		return fmt.Errorf("the ledger of département 01 already holds %d entries, more than %d", held, rows)
	}
	_, err := db.ExecContext(ctx, `
		WITH fiches AS (SELECT array_agg(id ORDER BY id) AS ids FROM actions WHERE departement = '01' AND year = 2020),
		entries AS (
			SELECT g, ids[1 + g % cardinality(ids)] AS action_id,
			       CASE WHEN g % 5 < 2 THEN 'commitment' ELSE 'payment' END AS kind,
			       (CASE WHEN g % 5 < 2 THEN 100000 + (g * 7919) % 400000 ELSE 10000 + (g * 104729) % 190000 END) AS cents,
			       CASE g % 3 WHEN 0 THEN 'state' WHEN 1 THEN 'departement' END AS funder
			FROM fiches, generate_series($1::bigint + 1, $2::bigint) AS g)
		INSERT INTO expenses (departement, action_id, kind, amount, entry_date, supplier, reference, funder,
		                      state_share, departement_share, carryover_share, other_share)
		SELECT '01', action_id, kind, cents / 100.0, date '2020-01-02' + (g * 37 % 360)::int,
		       (ARRAY['Solincité', 'AFPA Nouvelle-Aquitaine', 'Greta Lot-et-Garonne', 'Mission locale de l''Agenais',
		              'Régie de quartier "Agen Nord"', 'SARL Dupont, Fils & Cie'])[1 + g % 6],
		       'BENCH-' || lpad(g::text, 7, '0'), funder,
		       CASE WHEN funder = 'state' THEN cents / 100.0 WHEN funder IS NULL THEN (cents / 2) / 100.0 ELSE 0 END,
		       CASE WHEN funder = 'departement' THEN cents / 100.0 WHEN funder IS NULL THEN (cents - cents / 2) / 100.0 ELSE 0 END,
		       0, 0
		FROM entries`, held, rows)
	if err != nil {
		return fmt.Errorf("fill the ledger to %d entries: %w", rows, err)
	}
	_, err = db.ExecContext(ctx, `ANALYZE expenses`)
	return err
}

// downloadExport resets the server's peak RSS, downloads the export, checks it holds the
// header and exactly rows entries, and reads the peak RSS the download reached.
func (b *bench) downloadExport(ctx context.Context, rows int) (exportRun, error) {
	pid := b.srv.Pid()
	// 5 resets the peak RSS (VmHWM) of the process to its current RSS.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return exportRun{}, fmt.Errorf("reset the peak RSS of the server: %w", err)
	}
	var run exportRun
	var err error
	if run.startMB, err = procStatusMB(pid, "VmRSS"); err != nil {
		return run, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.Base+exportPath, nil)
	if err != nil {
		return run, err
	}
	req.Header.Set("Authorization", "Bearer "+b.srv.token)
	start := time.Now()
	resp, err := (&http.Client{Transport: b.srv.client.Transport}).Do(req) // no client timeout: the context bounds it
	if err != nil {
		return run, fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return run, fmt.Errorf("export: status %d: %s", resp.StatusCode, msg)
	}
	counted := &countingReader{r: resp.Body}
	if run.rows, err = countCSVRows(counted); err != nil {
		return run, fmt.Errorf("export of %d entries: %w", rows, err)
	}
	run.took, run.bytes = time.Since(start), counted.n
	if run.rows != rows {
		return run, fmt.Errorf("export: %d entries received, the ledger holds %d", run.rows, rows)
	}
	if run.peakMB, err = procStatusMB(pid, "VmHWM"); err != nil {
		return run, err
	}
	run.rowsPerS, run.megabytes = float64(rows)/run.took.Seconds(), float64(run.bytes)/1e6
	return run, nil
}

// ledgerColumns is the width of the export's rows, its header's.
const ledgerColumns = 14

// countCSVRows parses a CSV export to its end and returns its data rows, after checking the
// header row; every row must have the header's width.
func countCSVRows(r io.Reader) (int, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 256<<10))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = ledgerColumns
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("header: %w", err)
	}
	if header[0] != "id" || header[4] != "amount" {
		return 0, fmt.Errorf("unexpected header %q", header)
	}
	n := 0
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("row %d: %w", n+1, err) // a truncated transfer ends here
		}
		n++
	}
}

// procStatusMB reads a memory field of /proc/<pid>/status ("VmRSS", "VmHWM"), in MB.
func procStatusMB(pid int, field string) (float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte(field+":"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 64)
		if err != nil {
			return 0, fmt.Errorf("%s of process %d: %w", field, pid, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
