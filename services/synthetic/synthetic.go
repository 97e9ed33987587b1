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
)

// Actor is the subject of the audit rows the reference data writes.
const Actor = "parcours seed synthetic"

// Codes are the real département codes the generator takes, in order. 47 is left out: it is
// the département of the demo data, which the synthetic data must never collide with.
var Codes = codes()

func codes() []string {
	var out []string
	for n := 1; n <= 95; n++ {
		switch n {
		case 20:
			out = append(out, "2A", "2B")
		case 47:
		default:
			out = append(out, fmt.Sprintf("%02d", n))
		}
	}
	return append(out, "971", "972", "973", "974", "976")
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

// Generate writes the synthetic data set of opts into db. A département that already has
// territories is refused with services.ErrConflict: seed a fresh database.
func Generate(ctx context.Context, db *gorm.DB, opts Options) (Report, error) {
	start := time.Now()
	if err := opts.validate(); err != nil {
		return Report{}, err
	}
	rep := Report{Departements: Codes[:opts.Departements]}
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
	rep.Elapsed = time.Since(start)
	return rep, nil
}
