package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// importRows is the size of the import benchmark's file.
const importRows = 100_000

// rowsPerSecondRE finds the rows/s of BenchmarkImportBeneficiaries100k in the output of
// go test -bench, which holds other benchmarks of the package too.
var rowsPerSecondRE = regexp.MustCompile(`(?m)^BenchmarkImportBeneficiaries100k\S*\s.*?\s([0-9.e+]+) rows/s`)

// copyRuns is how many times the baseline \copy runs; its median is the baseline.
const copyRuns = 3

// benchImport reads the rows/s of the import benchmark (go test -bench ./services/imports/)
// and times psql \copy of the same file into a bare table of text columns.
func benchImport(ctx context.Context, cfg config, b *bench) (line, error) {
	out, err := os.ReadFile(cfg.importOutput)
	if err != nil {
		return line{}, fmt.Errorf("import benchmark output: %w", err)
	}
	m := rowsPerSecondRE.FindSubmatch(out)
	if m == nil {
		return line{}, fmt.Errorf("no rows/s in the import benchmark output %s", cfg.importOutput)
	}
	ours, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return line{}, err
	}
	took, err := psqlCopy(ctx, cfg, b)
	if err != nil {
		return line{}, fmt.Errorf("import baseline: %w", err)
	}
	return line{name: "import", unit: "rows/s", ours: ours, baseline: importRows / took.Seconds(), target: 0.5, higherIsBetter: true}, nil
}

// psqlCopy creates a bare table of text columns named after the file's header and times
// \copy of the file into it: copyRuns times, emptied in between, for the median. The table
// is an ordinary one, written to the WAL as the import's tables are (a temporary table
// would not be, and is about 10 % faster); it is dropped at the end.
func psqlCopy(ctx context.Context, cfg config, b *bench) (time.Duration, error) {
	columns, err := headerOf(cfg.importFile)
	if err != nil {
		return 0, err
	}
	var script strings.Builder
	fmt.Fprintf(&script, "\\set ON_ERROR_STOP on\nDROP TABLE IF EXISTS bench_raw_flux;\nCREATE TABLE bench_raw_flux (%s text);\n",
		strings.Join(columns, " text, "))
	for range copyRuns {
		fmt.Fprintf(&script, "TRUNCATE bench_raw_flux;\n\\timing on\n\\copy bench_raw_flux FROM '%s' (FORMAT csv, HEADER)\n\\timing off\n",
			cfg.importFile)
	}
	script.WriteString("DROP TABLE bench_raw_flux;\n")
	file := filepath.Join(b.tmp, "copy.sql")
	if err := os.WriteFile(file, []byte(script.String()), 0o644); err != nil {
		return 0, err
	}
	times, err := psqlTimings(ctx, cfg, file)
	if err != nil {
		return 0, err
	}
	if len(times) != copyRuns {
		return 0, fmt.Errorf("psql printed %d timings for %d \\copy", len(times), copyRuns)
	}
	slices.Sort(times)
	return times[copyRuns/2], nil
}

// headerOf returns the column names on the first line of a CSV file.
func headerOf(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import file: %w", err)
	}
	defer f.Close()
	first, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("import file header: %w", err)
	}
	return strings.Split(strings.TrimSpace(first), ","), nil
}
