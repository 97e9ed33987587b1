package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"parcours/services/demo"
)

func (a *app) seedCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "seed", Short: "Load data sets"}
	cmd.AddCommand(&cobra.Command{
		Use:   "demo",
		Short: "Load the Lot-et-Garonne demo data from the source document (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, sqlDB, err := a.openDB()
			if err != nil {
				return err
			}
			defer sqlDB.Close()
			rep, err := demo.Seed(cmd.Context(), db)
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
			return nil
		},
	})
	return cmd
}
