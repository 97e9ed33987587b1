package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"parcours/cmd/internal/parcoursproc"
)

// environment is what every parcours command of a run gets: the database, a keys folder of
// the run, the synthetic département, quiet logs.
func environment(databaseURL, keysDir string, extra ...string) []string {
	env := append(os.Environ(),
		"DATABASE_URL="+databaseURL,
		"PARCOURS_KEYS_DIR="+keysDir,
		"PARCOURS_DEPARTEMENT="+departement,
		"PARCOURS_LOG_LEVEL=warn",
	)
	return append(env, extra...)
}

// prepare migrates the database and seeds the synthetic département.
func prepare(ctx context.Context, bin string, env []string, beneficiaries int) error {
	for _, args := range [][]string{
		{"migrate", "up"},
		{"seed", "synthetic", "--departements", "1", "--beneficiaries", fmt.Sprint(beneficiaries), "--seed", "1"},
	} {
		if _, err := parcoursproc.Run(ctx, bin, env, args...); err != nil {
			return err
		}
	}
	return nil
}

// startServer starts `parcours serve` on a free loopback port, its logs going to logs, and
// waits until it is ready.
func startServer(bin string, env []string, logs io.Writer) (*parcoursproc.Server, error) {
	return parcoursproc.Start(context.Background(), parcoursproc.Config{Bin: bin, Env: env, Logs: logs, Ready: "/readyz", Within: 30 * time.Second})
}
