package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/imports"
)

// importActor is the administrator the command acts as, in the audit trail.
const importActor = "parcours import"

func (a *app) importCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Import files from outside Parcours"}
	cmd.AddCommand(&cobra.Command{
		Use:   "beneficiaries FILE",
		Short: "Import the CAF/MSA flux of beneficiaries (CSV, columns in the README) into PARCOURS_DEPARTEMENT",
		Long: "Import the CAF/MSA flux of beneficiaries into PARCOURS_DEPARTEMENT as the administrator \"" + importActor + "\".\n" +
			"Prints the report; rejected rows are listed but do not fail the command. A malformed file is refused\n" +
			"whole (nothing is written) and the command exits with status 1.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.importBeneficiaries(cmd, args[0])
		},
	})
	return cmd
}

func (a *app) importBeneficiaries(cmd *cobra.Command, path string) error {
	db, sqlDB, cipher, err := a.openCaseData()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	requestID := "import-" + rand.Text()
	ctx := audit.WithRequestID(auth.WithPrincipal(cmd.Context(),
		auth.Principal{Subject: importActor, Role: auth.RoleAdmin, Departement: a.cfg.Departement}), requestID)
	rep, err := imports.New(db, cipher).Beneficiaries(ctx, f)
	if err != nil {
		return fmt.Errorf("%s refused, nothing imported: %w", path, err)
	}
	printImportReport(cmd.OutOrStdout(), rep, requestID)
	return nil
}

// printImportReport writes the figures, then one line per rejection.
func printImportReport(w io.Writer, rep imports.Report, requestID string) {
	fmt.Fprintf(w, "rows read %d: created %d, updated %d, unchanged %d, rejected %d (audit request id %s)\n",
		rep.RowsRead, rep.Created, rep.Updated, rep.Unchanged, rep.Rejected, requestID)
	for _, r := range rep.Rejections {
		fmt.Fprintf(w, "line %d: %s: %s\n", r.Line, r.Field, r.Reason)
	}
}
