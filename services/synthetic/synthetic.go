// Package synthetic generates deterministic, realistic pathways for load and scale tests:
// départements with their territories, organisations, programmes and 2020 convention, and
// beneficiaries convoked, oriented, enrolled, contracted, exited, some with cumul agreements,
// and a ledger of expenses. The bulk rows are written with COPY.
package synthetic

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/demo"
)

// Actor is the subject of the audit rows the reference data writes.
const Actor = "parcours seed synthetic"

// Codes are the 101 real département codes the generator takes, in order: the 96 of
// metropolitan France (2A and 2B for Corsica) and the 5 overseas, with 47 last. 47 is the
// département of the demo data: only the national data set (all 101) takes it, and setup
// refuses it in a database the demo data was seeded into, as any département already seeded.
// Putting it last keeps the data of the first N < 101 départements what it always was.
var Codes = codes()

func codes() []string {
	var out []string
	for n := 1; n <= 95; n++ {
		switch code := fmt.Sprintf("%02d", n); code {
		case "20":
			out = append(out, "2A", "2B")
		case demo.Departement:
		default:
			out = append(out, code)
		}
	}
	return append(out, "971", "972", "973", "974", "976", demo.Departement)
}

// Options say how much to generate: Beneficiaries in total, spread evenly over the first
// Departements of Codes; the same Seed gives the same data.
type Options struct {
	Departements  int
	Beneficiaries int
	Seed          uint64
}

func (o Options) validate() error {
	v := &services.Validator{}
	v.Check(o.Departements >= 1 && o.Departements <= len(Codes), "departements", fmt.Sprintf("between 1 and %d", len(Codes)))
	v.Check(o.Beneficiaries >= o.Departements, "beneficiaries", "at least one per département")
	return v.Err()
}

// TableCount is the number of rows written to one table.
type TableCount struct {
	Table string
	Rows  int
}

// Report says what a run wrote and how long it took.
type Report struct {
	Departements []string
	Tables       []TableCount
	Elapsed      time.Duration
}

// Generate writes the synthetic data set of opts into db, then vacuums and analyzes the
// database. A département that already has territories is refused with services.ErrConflict,
// before anything is written: seed a fresh database.
func Generate(ctx context.Context, db *gorm.DB, opts Options) (Report, error) {
	start := time.Now()
	if err := opts.validate(); err != nil {
		return Report{}, err
	}
	rep := Report{Departements: Codes[:opts.Departements]}
	if err := refuseSeeded(ctx, db, rep.Departements); err != nil {
		return Report{}, err
	}
	refs := make([]reference, len(rep.Departements))
	for i, code := range rep.Departements {
		var err error
		if refs[i], err = setup(ctx, db, code); err != nil {
			return Report{}, fmt.Errorf("synthetic département %s: %w", code, err)
		}
	}
	p := newPlan(opts.Seed, refs, opts.Beneficiaries)
	for _, t := range p.tables() {
		if err := copyTable(ctx, db, t, p.ids); err != nil {
			return Report{}, err
		}
		rep.Tables = append(rep.Tables, TableCount{Table: t.name, Rows: t.rows})
	}
	// The planner needs statistics of the tables just filled before the first report, and a
	// vacuum now (visibility map, hint bits) spares the first readers, and the benchmarks that
	// follow a seed, the autovacuum the COPYs would soon trigger.
	if err := db.WithContext(ctx).Exec(`VACUUM (ANALYZE)`).Error; err != nil {
		return Report{}, fmt.Errorf("vacuum and analyze the synthetic data: %w", err)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// refuseSeeded answers services.ErrConflict, before anything is written, when one of codes
// already has territories (setup checks again in its transaction).
func refuseSeeded(ctx context.Context, db *gorm.DB, codes []string) error {
	var seeded []string
	if err := db.WithContext(ctx).Raw(`SELECT DISTINCT departement FROM territories WHERE departement IN ? ORDER BY 1`, codes).
		Scan(&seeded).Error; err != nil {
		return fmt.Errorf("look for seeded départements: %w", err)
	}
	if len(seeded) > 0 {
		return fmt.Errorf("départements %v already have territories, seed a fresh database: %w", seeded, services.ErrConflict)
	}
	return nil
}
