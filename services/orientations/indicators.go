package orientations

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/services/indicators"
)

// The indicators of fiche 3.1 computed from orientation data.
const (
	// CodeNewEntrants counts the beneficiaries subject to rights and duties whose rights
	// opened in the year.
	CodeNewEntrants = "3.1.new_entrants"
	// CodeNewEntrantsOriented counts, of those, the ones whose first orientation decision is
	// dated at most threshold_days after their rights opened.
	CodeNewEntrantsOriented = "3.1.new_entrants_oriented_1_month"
	// CodeOrientationDelay is the mean number of days from the rights opening to the first
	// orientation decision, over the year's new entrants who were oriented.
	CodeOrientationDelay = "3.1.orientation_delay_days"

	// ThresholdParam is the parameter of CodeNewEntrantsOriented, in days.
	ThresholdParam = "threshold_days"
	// DefaultThresholdDays applies when the indicator has no ThresholdParam.
	DefaultThresholdDays = 30
)

// entrantsSQL computes the three figures of a year's new entrants in one pass: first
// decisions are the earliest decision of each person, superseded or not. The mean delay is
// rounded to 2 decimals half away from zero (round on numeric), NULL when nobody was oriented.
//
// The entrants come from an index-only scan of beneficiaries_rights_idx (migration 0010) and
// each one's first decision from one probe of orientations_beneficiary_idx: the LATERAL
// subquery is evaluated once per entrant, where a scalar subquery in the CTE would be
// evaluated once per use of first_decided_on (twice) once the CTE is inlined.
const entrantsSQL = `WITH entrants AS (
	SELECT b.rights_opened_on, f.first_decided_on
	FROM beneficiaries b
	CROSS JOIN LATERAL (SELECT min(o.decided_on) AS first_decided_on FROM orientations o WHERE o.beneficiary_id = b.id) AS f
	WHERE b.departement = @departement
	  AND b.subject_to_rights_and_duties
	  AND b.rights_opened_on >= make_date(@year, 1, 1)
	  AND b.rights_opened_on < make_date(@year + 1, 1, 1)
	  AND (@territory = '' OR b.territory_code = @territory)
)
SELECT count(*) AS entrants,
       count(*) FILTER (WHERE first_decided_on - rights_opened_on <= CAST(@threshold AS numeric)) AS oriented_within,
       round(avg(first_decided_on - rights_opened_on), 2) AS mean_delay
FROM entrants`

// entrantFigures are a year's new entrants, those oriented within the threshold, and their
// mean orientation delay.
type entrantFigures struct {
	Entrants       int64
	OrientedWithin int64
	MeanDelay      decimal.NullDecimal
}

func computeEntrants(ctx context.Context, db *gorm.DB, q indicators.Query) (entrantFigures, error) {
	threshold, ok := q.Params[ThresholdParam]
	if !ok {
		threshold = DefaultThresholdDays
	}
	var f entrantFigures
	err := db.WithContext(ctx).Raw(entrantsSQL, map[string]any{
		"departement": q.Departement, "year": q.Year, "territory": q.Territory, "threshold": threshold,
	}).Scan(&f).Error
	if err != nil {
		return f, fmt.Errorf("count the new entrants of %d: %w", q.Year, err)
	}
	return f, nil
}

// figure adapts one of the entrant figures to an indicators.ComputeFunc.
func figure(pick func(entrantFigures) decimal.NullDecimal) indicators.ComputeFunc {
	return func(ctx context.Context, db *gorm.DB, q indicators.Query) (decimal.NullDecimal, error) {
		f, err := computeEntrants(ctx, db, q)
		if err != nil {
			return decimal.NullDecimal{}, err
		}
		return pick(f), nil
	}
}

func count(n int64) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.NewFromInt(n)) }

// RegisterIndicators registers the orientation indicators of fiche 3.1 in r.
func RegisterIndicators(r *indicators.Registry) {
	r.Register(CodeNewEntrants, figure(func(f entrantFigures) decimal.NullDecimal { return count(f.Entrants) }))
	r.Register(CodeNewEntrantsOriented, figure(func(f entrantFigures) decimal.NullDecimal { return count(f.OrientedWithin) }))
	r.Register(CodeOrientationDelay, figure(func(f entrantFigures) decimal.NullDecimal { return f.MeanDelay }))
}
