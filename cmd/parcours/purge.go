package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/purge"
)

// purgeActor is the administrator the command acts as, in the audit trail.
const purgeActor = "parcours purge"

// purgeCmd applies the retention rules; getenv gives PARCOURS_RETENTION_CASE and
// PARCOURS_RETENTION_AUDIT.
func (a *app) purgeCmd(getenv func(string) string) *cobra.Command {
	var dryRun bool
	var batch int
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Anonymise still pathways and delete expired audit events in PARCOURS_DEPARTEMENT",
		Long: "Anonymise the beneficiaries of PARCOURS_DEPARTEMENT with no pathway event for PARCOURS_RETENTION_CASE\n" +
			"(default P2Y) and delete the audit events older than PARCOURS_RETENTION_AUDIT (default P1Y, at least P1Y),\n" +
			"in batches of short transactions, each audited as \"" + purgeActor + "\". Prints what it did; with\n" +
			"--dry-run, counts what it would do and changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := purgeConfig(getenv)
			if err != nil {
				return fmt.Errorf("configuration: %w", err)
			}
			cfg.BatchSize = batch
			return a.purge(cmd, cfg, dryRun)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be anonymised and deleted, change nothing")
	cmd.Flags().IntVar(&batch, "batch-size", purge.DefaultBatchSize, "rows changed per transaction")
	return cmd
}

// purgeConfig reads the retentions (ISO 8601 durations such as P2Y or P18M), reporting every
// bad variable at once.
func purgeConfig(getenv func(string) string) (purge.Config, error) {
	var errs []error
	retention := func(name string, def purge.Retention) purge.Retention {
		raw := strings.TrimSpace(getenv(name))
		if raw == "" {
			return def
		}
		r, err := purge.ParseRetention(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return def
		}
		return r
	}
	cfg := purge.Config{
		CaseRetention:  retention("PARCOURS_RETENTION_CASE", purge.DefaultCaseRetention),
		AuditRetention: retention("PARCOURS_RETENTION_AUDIT", purge.DefaultAuditRetention),
	}
	return cfg, errors.Join(errs...)
}

func (a *app) purge(cmd *cobra.Command, cfg purge.Config, dryRun bool) error {
	if cfg.BatchSize <= 0 {
		return errors.New("--batch-size: want a positive whole number")
	}
	db, sqlDB, err := a.openDB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	svc, err := purge.New(db, cfg)
	if err != nil {
		return fmt.Errorf("PARCOURS_RETENTION_AUDIT: %w", err)
	}
	requestID := "purge-" + rand.Text()
	ctx := audit.WithRequestID(auth.WithPrincipal(cmd.Context(),
		auth.Principal{Subject: purgeActor, Role: auth.RoleAdmin, Departement: a.cfg.Departement}), requestID)
	rep, err := svc.Run(ctx, dryRun)
	if err != nil {
		return fmt.Errorf("purge stopped after %d transactions (%d anonymised, %d audit events deleted): %w",
			rep.Transactions, rep.Anonymised, rep.AuditEvents, err)
	}
	printPurgeReport(cmd.OutOrStdout(), rep, cfg, requestID)
	return nil
}

// printPurgeReport writes what the purge did, or would do.
func printPurgeReport(w io.Writer, rep purge.Report, cfg purge.Config, requestID string) {
	verbs := [2]string{"anonymised", "deleted"}
	if rep.DryRun {
		verbs = [2]string{"to anonymise", "to delete"}
	}
	fmt.Fprintf(w, "beneficiaries %s: %d (no pathway event since %s, retention %s)\n",
		verbs[0], rep.Anonymised, rep.CaseCutoff.UTC().Format(time.RFC3339), cfg.CaseRetention)
	fmt.Fprintf(w, "audit events %s: %d (older than %s, retention %s)\n",
		verbs[1], rep.AuditEvents, rep.AuditCutoff.UTC().Format(time.RFC3339), cfg.AuditRetention)
	if rep.DryRun {
		fmt.Fprintln(w, "dry run: nothing changed")
		return
	}
	fmt.Fprintf(w, "%d transactions (audit request id %s)\n", rep.Transactions, requestID)
}
