package indicators

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"parcours/services"
)

// ReportRow is an indicator with its target for the year and its value: computed by the
// registry for computed indicators, the declared value for declared ones (none yet: declared
// values arrive with the expense and indicator ledger).
type ReportRow struct {
	Indicator
	Target *Target
	Value  decimal.NullDecimal
}

// Report is every indicator of a year, optionally of one fiche.
type Report struct {
	Year       int
	ActionCode string
	Rows       []ReportRow
}

// Report lists the indicators of year (of fiche actionCode when not empty) with their targets
// and values.
func (s *Service) Report(ctx context.Context, year int, actionCode string) (Report, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Report{}, err
	}
	db := services.Conn(ctx, s.db)
	q := db.Where("departement = ?", p.Departement)
	if actionCode != "" {
		q = q.Where("action_code = ?", actionCode)
	}
	inds, err := s.load(q)
	if err != nil {
		return Report{}, err
	}
	out := Report{Year: year, ActionCode: actionCode, Rows: make([]ReportRow, len(inds))}
	for i, ind := range inds {
		row := ReportRow{Indicator: ind}
		for _, t := range ind.Targets {
			if t.Year == year {
				row.Target = &t
			}
		}
		if compute, ok := s.registry.lookup(ind.Code); ok && ind.Method == "computed" {
			row.Value, err = compute(ctx, db, Query{Departement: p.Departement, Year: year, Params: ind.Params})
			if err != nil {
				return Report{}, fmt.Errorf("compute %s: %w", ind.Code, err)
			}
		}
		out.Rows[i] = row
	}
	return out, nil
}
