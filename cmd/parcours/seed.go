package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"parcours/services/demo"
	"parcours/services/synthetic"
)

func (a *app) seedCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "seed", Short: "Load data sets"}
	cmd.AddCommand(&cobra.Command{
		Use:   "demo",
		Short: "Load the Lot-et-Garonne demo data from the source document (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, sqlDB, cipher, err := a.openCaseData()
			if err != nil {
				return err
			}
			defer sqlDB.Close()
			rep, err := demo.Seed(cmd.Context(), db, cipher)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "demo data: %d territories created, %d already there\n", rep.Created, rep.Existing)
			if b := rep.Budget; b.Loaded {
				fmt.Fprintf(cmd.OutOrStdout(), "convention 2020: %d funding lines, %d actions, %d budget lines, %d indicators loaded\n",
					b.FundingLines, b.Actions, b.BudgetLines, b.Indicators)
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "convention 2020: already there")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "programmes: %d created, %d already there\n", rep.Programmes, rep.ProgrammesExisting)
			fmt.Fprintf(cmd.OutOrStdout(), "cumul rSa scheme: %d created, %d rSa revaluations created\n", rep.Cumul.Schemes, rep.Cumul.Parameters)
			p := rep.Pathway
			fmt.Fprintf(cmd.OutOrStdout(), "organisations: %d created (%d referents), %d already there\n", p.Organisations, p.Referents, p.OrganisationsExisting)
			if p.Sessions > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "platform of 13 December 2019: %d beneficiaries, %d convocations, %d catch-ups, %d formal notices, %d orientations\n",
					p.Beneficiaries, p.Convocations, p.CatchUps, p.FormalNotices, p.Orientations)
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "platform of 13 December 2019: already there")
			}
			return nil
		},
	})
	cmd.AddCommand(a.syntheticCmd())
	return cmd
}

// syntheticCmd is "parcours seed synthetic": the load and scale data set, written with COPY.
func (a *app) syntheticCmd() *cobra.Command {
	var opts synthetic.Options
	cmd := &cobra.Command{
		Use:   "synthetic",
		Short: "Generate deterministic synthetic pathways for N départements (up to 101; 47, the demo's, last) into a fresh database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, sqlDB, err := a.openDB()
			if err != nil {
				return err
			}
			defer sqlDB.Close()
			rep, err := synthetic.Generate(cmd.Context(), db, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "synthetic data (seed %d): départements %v\n", opts.Seed, rep.Departements)
			for _, t := range rep.Tables {
				fmt.Fprintf(out, "  %-22s %9d rows\n", t.Table, t.Rows)
			}
			fmt.Fprintf(out, "written in %s\n", rep.Elapsed.Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Departements, "departements", 1, "number of départements")
	cmd.Flags().IntVar(&opts.Beneficiaries, "beneficiaries", 20000, "beneficiaries in total, spread evenly")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "random seed: the same seed gives the same data")
	return cmd
}
