package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// importRows is the size of the import benchmark's file.
const importRows = 100_000

var rowsPerSecondRE = regexp.MustCompile(`([0-9.e+]+) rows/s`)

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

// psqlCopy creates a bare table with the file's columns and times \copy of the file into it.
func psqlCopy(ctx context.Context, cfg config, b *bench) (time.Duration, error) {
	columns, err := headerOf(cfg.importFile)
	if err != nil {
		return 0, err
	}
	script := fmt.Sprintf("\\set ON_ERROR_STOP on\nCREATE TEMPORARY TABLE raw_flux (%s text);\n\\timing on\n\\copy raw_flux FROM '%s' (FORMAT csv, HEADER)\n",
		strings.Join(columns, " text, "), cfg.importFile)
	file := filepath.Join(b.tmp, "copy.sql")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		return 0, err
	}
	times, err := psqlTimings(ctx, cfg, file)
	if err != nil {
		return 0, err
	}
	if len(times) != 1 {
		return 0, fmt.Errorf("psql printed %d timings for one \\copy", len(times))
	}
	return times[0], nil
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
