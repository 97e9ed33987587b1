package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"parcours/migrations"
)

func (a *app) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Apply, roll back or show the database migrations"}
	cmd.AddCommand(
		a.migrateSub("up", "Apply every pending migration", migrateUp),
		a.migrateSub("down", "Roll back the latest migration", migrateDown),
		a.migrateSub("status", "List the migrations and whether each is applied", migrateStatus),
	)
	return cmd
}

// migrateSub is a migrate subcommand running fn against DATABASE_URL.
func (a *app) migrateSub(use, short string, fn func(context.Context, *sql.DB, io.Writer) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, sqlDB, err := a.openDB()
			if err != nil {
				return err
			}
			defer sqlDB.Close()
			return fn(cmd.Context(), sqlDB, cmd.OutOrStdout())
		},
	}
}

func migrateUp(ctx context.Context, db *sql.DB, out io.Writer) error {
	results, err := migrations.Up(ctx, db)
	for _, r := range results {
		fmt.Fprintf(out, "applied %s (%s)\n", r.Source.Path, r.Duration)
	}
	if err == nil && len(results) == 0 {
		fmt.Fprintln(out, "schema already current")
	}
	return err
}

func migrateDown(ctx context.Context, db *sql.DB, out io.Writer) error {
	p, err := migrations.NewProvider(db)
	if err != nil {
		return err
	}
	r, err := p.Down(ctx)
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	fmt.Fprintf(out, "rolled back %s\n", r.Source.Path)
	return nil
}

func migrateStatus(ctx context.Context, db *sql.DB, out io.Writer) error {
	p, err := migrations.NewProvider(db)
	if err != nil {
		return err
	}
	statuses, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("migrate status: %w", err)
	}
	for _, s := range statuses {
		applied := "pending"
		if !s.AppliedAt.IsZero() {
			applied = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(out, "%-40s %s\n", s.Source.Path, applied)
	}
	return nil
}
