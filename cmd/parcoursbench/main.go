// Command parcoursbench measures Parcours against PostgreSQL's own speed on the same machine,
// in the same run, and prints one line per figure:
//
//	bench <name>: ours=<value> baseline=<value> ratio=<ours/baseline> target=<…> <met|missed>
//
// It runs against the DATABASE_URL of a throwaway cluster (make bench starts one through
// scripts/pg.sh test): it migrates, seeds one synthetic département, starts the real
// `parcours serve` on a loopback port, drives it over HTTP, and runs pgbench and psql for the
// baselines.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"parcours/cmd/internal/parcoursproc"
)

// config is what the command line sets.
type config struct {
	bin           string // the parcours binary
	pgBin         string // the folder of pgbench and psql
	databaseURL   string
	beneficiaries int
	writes        int
	reads         int
	concurrency   int
	importOutput  string // the output of the import benchmark (go test -bench)
	importFile    string // the flux file the import benchmark imported
	national      int    // beneficiaries of the national data set of report_national; 0 skips it
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin/parcours", "the parcours binary")
	flag.StringVar(&cfg.pgBin, "pgbin", pgBinDir(), "the folder holding pgbench and psql")
	flag.IntVar(&cfg.beneficiaries, "beneficiaries", 20000, "synthetic beneficiaries of the one département")
	flag.IntVar(&cfg.writes, "writes", 2000, "orientation decisions recorded per side of the write figure")
	flag.IntVar(&cfg.reads, "reads", 4000, "beneficiary reads per side of the read figure")
	flag.IntVar(&cfg.concurrency, "c", 16, "concurrent clients")
	flag.StringVar(&cfg.importOutput, "import-output", "", "output of the import benchmark, for its rows/s")
	flag.StringVar(&cfg.importFile, "import-file", "", "the flux file the import benchmark imported")
	flag.IntVar(&cfg.national, "national", nationalBeneficiaries,
		"beneficiaries of the national data set (101 départements, in a second database) of report_national; 0 skips it")
	flag.Parse()
	cfg.databaseURL = os.Getenv("DATABASE_URL")
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "parcoursbench:", err)
		os.Exit(1)
	}
}

// pgBinDir is the newest /usr/lib/postgresql/*/bin, or "" to rely on PATH.
func pgBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(dirs) == 0 {
		return ""
	}
	return dirs[len(dirs)-1]
}

func run(ctx context.Context, cfg config) error {
	if cfg.databaseURL == "" {
		return errors.New("DATABASE_URL is not set (run through scripts/pg.sh test)")
	}
	tmp, err := os.MkdirTemp("", "parcoursbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env, err := prepare(ctx, cfg, tmp)
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer srv.stop()
	figures := []func(context.Context, config, *bench) (line, error){benchWrite, benchRead, benchReports}
	b := &bench{srv: srv, env: env, tmp: tmp}
	for _, f := range figures {
		l, err := f(ctx, cfg, b)
		if err != nil {
			return err
		}
		fmt.Println(l)
	}
	national, err := benchNational(ctx, cfg, b)
	if err != nil {
		return err
	}
	fmt.Println(national)
	l, err := benchImport(ctx, cfg, b)
	if err != nil {
		return err
	}
	fmt.Println(l)
	export, err := benchExport(ctx, cfg, b)
	if err != nil {
		return err
	}
	fmt.Println(export)
	return nil
}

// prepare migrates the database and seeds one synthetic département; it returns the
// environment the parcours commands run with.
func prepare(ctx context.Context, cfg config, tmp string) ([]string, error) {
	env := append(os.Environ(),
		"PARCOURS_KEYS_DIR="+filepath.Join(tmp, "keys"),
		"PARCOURS_DEPARTEMENT=01",
		"PARCOURS_LOG_LEVEL=error",
		"PARCOURS_DB_MAX_CONNS=32",
	)
	steps := [][]string{
		{"migrate", "up"},
		{"seed", "synthetic", "--departements", "1", "--beneficiaries", fmt.Sprint(cfg.beneficiaries), "--seed", "1"},
	}
	for _, args := range steps {
		if _, err := parcours(ctx, cfg, env, args...); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// parcours runs the parcours binary and returns its standard output.
func parcours(ctx context.Context, cfg config, env []string, args ...string) (string, error) {
	return parcoursproc.Run(ctx, cfg.bin, env, args...)
}
