package indicators

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"parcours/services"
)

// ReportRow is an indicator with its target for the year and its value: computed by the
// registry for computed indicators; for declared ones, the value the declarations of the year
// give (see yearValuesSQL), with the latest declaration of each period in Declared.
type ReportRow struct {
	Indicator
	Target   *Target
	Value    decimal.NullDecimal
	Declared []DeclaredValue // declared indicators only: the latest declaration of each period of the year
}

// ReportFilter says which report to build: the year, optionally one fiche and one territory.
type ReportFilter struct {
	Year       int
	ActionCode string // "" for every fiche
	Territory  string // "" for the whole département; computed values count this territory only, declared values are this territory's
}

// Report is every indicator of a year, optionally of one fiche, with values optionally of one
// territory.
type Report struct {
	Year       int
	ActionCode string
	Territory  string
	Rows       []ReportRow
}

// Report lists the indicators of f.Year (of fiche f.ActionCode when not empty) with their
// targets and values, computed over f.Territory when not empty. Declared values are those
// declared for f.Territory, or for the whole département (without a territory) when it is
// empty: the territories' declarations are never added up into the département's.
func (s *Service) Report(ctx context.Context, f ReportFilter) (Report, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Report{}, err
	}
	db := services.Conn(ctx, s.db)
	q := db.Where("departement = ?", p.Departement)
	if f.ActionCode != "" {
		q = q.Where("action_code = ?", f.ActionCode)
	}
	inds, err := s.load(q)
	if err != nil {
		return Report{}, err
	}
	decl, err := declaredValues(db, p.Departement, f.Year, f.Territory)
	if err != nil {
		return Report{}, err
	}
	out := Report{Year: f.Year, ActionCode: f.ActionCode, Territory: f.Territory, Rows: make([]ReportRow, len(inds))}
	for i, ind := range inds {
		row := ReportRow{Indicator: ind}
		for _, t := range ind.Targets {
			if t.Year == f.Year {
				row.Target = &t
			}
		}
		if ind.Method == "declared" {
			row.Declared = decl.periods[ind.Code]
			if value, ok := decl.values[ind.Code]; ok {
				row.Value = decimal.NewNullDecimal(value)
			}
		}
		if compute, ok := s.registry.lookup(ind.Code); ok && ind.Method == "computed" {
			row.Value, err = compute(ctx, db, Query{Departement: p.Departement, Year: f.Year, Params: ind.Params, Territory: f.Territory})
			if err != nil {
				return Report{}, fmt.Errorf("compute %s: %w", ind.Code, err)
			}
		}
		out.Rows[i] = row
	}
	return out, nil
}
