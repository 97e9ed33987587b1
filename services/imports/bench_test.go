package imports_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services/imports"
	"parcours/services/servicetest"
)

const benchRows = 100_000

// benchFile is a deterministic flux of n valid rows, every one with a NIR, a third with a
// phone and an e-mail address.
func benchFile(n int) []byte {
	lastNames := []string{"Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Lefèvre"}
	firstNames := []string{"Léa", "Lucas", "Emma", "Hugo", "Chloé", "Louis", "Inès", "Jules", "Zoé", "Noé"}
	var b bytes.Buffer
	b.WriteString(header)
	for i := range n {
		payer := []string{"caf", "msa"}[i%5/4] // one in five at the MSA
		year, month, day := 1960+i%45, 1+i%12, 1+i%28
		sex := 1 + i%2
		body := fmt.Sprintf("%d%02d%02d47%06d", sex, year%100, month, i)
		phone, email := "", ""
		if i%3 == 0 {
			phone, email = fmt.Sprintf("06%08d", i), fmt.Sprintf("personne%d@example.fr", i)
		}
		fmt.Fprintf(&b, "%s,%08d,%s,%s,%04d-%02d-%02d,%s,%s,Commune %d,%d,2020-%02d-%02d,%d,%s,%s,%d,%d\n",
			payer, i, lastNames[i%10], firstNames[i/10%10], year, month, day, nir(body), territoryCodes[i%8],
			i%300, 1+i%6, 1+i%12, 1+i%28, 1-i%7/6, phone, email, i%11/10, i%13/12)
	}
	return b.Bytes()
}

// BenchmarkImportBeneficiaries100k imports a valid file of 100 000 new beneficiaries into a
// fresh database, and compares the time with a raw COPY of the same bytes into a bare table
// of text columns (what psql \copy would cost), measured in the same run.
func BenchmarkImportBeneficiaries100k(b *testing.B) {
	file := benchFile(benchRows)
	if out := os.Getenv("PARCOURS_BENCH_FLUX_FILE"); out != "" { // make bench times psql \copy of it
		require.NoError(b, os.WriteFile(out, file, 0o644))
	}
	var baseline time.Duration
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		ctx := servicetest.As(admin)
		b.StartTimer()
		rep, err := e.svc.Beneficiaries(ctx, bytes.NewReader(file))
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, imports.Report{RowsRead: benchRows, Created: benchRows}, rep)
		baseline += rawCopy(b, e.db, file)
		b.StartTimer()
	}
	perRun := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(benchRows/perRun, "rows/s")
	b.ReportMetric(perRun, "s/100k")
	b.ReportMetric(perRun/(baseline.Seconds()/float64(b.N)), "x_raw_copy")
}

// BenchmarkReimportBeneficiaries100k imports the file of BenchmarkImportBeneficiaries100k
// into a database that already holds it: every row matches and nothing changes.
func BenchmarkReimportBeneficiaries100k(b *testing.B) {
	file := benchFile(benchRows)
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		ctx := servicetest.As(admin)
		_, err := e.svc.Beneficiaries(ctx, bytes.NewReader(file))
		require.NoError(b, err)
		require.NoError(b, e.db.Exec(`ANALYZE beneficiaries`).Error) // as autovacuum would, soon after
		b.StartTimer()
		rep, err := e.svc.Beneficiaries(ctx, bytes.NewReader(file))
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, imports.Report{RowsRead: benchRows, Unchanged: benchRows}, rep)
		b.StartTimer()
	}
	b.ReportMetric(benchRows/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
}

// rawCopy times COPY … FROM STDIN (FORMAT csv) of file into a bare table of text columns, an
// ordinary one as in cmd/parcoursbench (written to the WAL as the import's tables are).
func rawCopy(b testing.TB, db *gorm.DB, file []byte) time.Duration {
	b.Helper()
	sqlDB, err := db.DB()
	require.NoError(b, err)
	conn, err := sqlDB.Conn(context.Background())
	require.NoError(b, err)
	defer conn.Close()
	columns := strings.Split(strings.TrimSpace(header), ",")
	var took time.Duration
	require.NoError(b, conn.Raw(func(driverConn any) error {
		pg := driverConn.(*stdlib.Conn).Conn().PgConn()
		ctx := context.Background()
		if err := pg.Exec(ctx, `CREATE TABLE raw_flux (`+strings.Join(columns, " text, ")+` text)`).Close(); err != nil {
			return err
		}
		start := time.Now()
		_, err := pg.CopyFrom(ctx, bytes.NewReader(file), `COPY raw_flux FROM STDIN (FORMAT csv, HEADER)`)
		took = time.Since(start)
		return err
	}))
	return took
}
