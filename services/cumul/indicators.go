package cumul

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/services/indicators"
)

// The indicators of fiche 4.4, computed in SQL per département and year, over the
// beneficiaries of a territory when the query names one.
const (
	// CodePeopleEnrolled counts the distinct people with at least one agreement in force
	// during the year ("une montée du public à 100 personnes d'ici fin 2021").
	CodePeopleEnrolled = "4.4.people_enrolled"
	// CodePeopleMaintained counts the people whose agreements are in force during at least
	// min_months (DefaultMinMonths) distinct months of the year ("le maintien d'une
	// cinquantaine de personnes dans le secteur sur une logique de parcours annuel").
	CodePeopleMaintained = "4.4.people_maintained"
	// CodeAllocationsAmount sums the allocations of the months of the year.
	CodeAllocationsAmount = "4.4.allocations_amount"

	// MinMonthsParam is the parameter of CodePeopleMaintained.
	MinMonthsParam = "min_months"
	// DefaultMinMonths applies when the indicator has no MinMonthsParam.
	DefaultMinMonths = 6
)

// agreementsFrom joins the agreements (ag) to their beneficiary (b) and to the last day they
// are in force (until.last_day): their end, or the reopening of the person's unemployment
// rights when earlier. inForce keeps those of @departement in force during @year, of the
// beneficiaries of @territory when not empty.
const (
	agreementsFrom = `cumul_agreements ag
JOIN beneficiaries b ON b.id = ag.beneficiary_id
CROSS JOIN LATERAL (SELECT least(ag.ends_on, coalesce(ag.unemployment_rights_reopened_on, ag.ends_on)) AS last_day) AS until`
	inForce = `ag.departement = @departement AND (@territory = '' OR b.territory_code = @territory)
  AND ag.starts_on <= make_date(@year, 12, 31) AND until.last_day >= make_date(@year, 1, 1)`
)

const (
	peopleEnrolledSQL = `SELECT count(DISTINCT ag.beneficiary_id) FROM ` + agreementsFrom + ` WHERE ` + inForce
	// peopleMaintainedSQL takes each month of the year an agreement of the person is in force
	// during, and counts the people with at least @min_months distinct months.
	peopleMaintainedSQL = `WITH covered AS (
	SELECT DISTINCT ag.beneficiary_id, m
	FROM ` + agreementsFrom + `
	CROSS JOIN LATERAL generate_series(make_date(@year, 1, 1), make_date(@year, 12, 1), interval '1 month') AS m
	WHERE ` + inForce + ` AND m <= until.last_day AND m + interval '1 month' > ag.starts_on
)
SELECT count(*) FROM (SELECT beneficiary_id FROM covered GROUP BY beneficiary_id
	HAVING count(*) >= CAST(@min_months AS numeric)) AS kept`
	allocationsAmountSQL = `SELECT coalesce(sum(al.amount), 0)
FROM cumul_allocations al
JOIN cumul_agreements ag ON ag.id = al.agreement_id
JOIN beneficiaries b ON b.id = ag.beneficiary_id
WHERE al.departement = @departement AND (@territory = '' OR b.territory_code = @territory)
  AND al.month BETWEEN make_date(@year, 1, 1) AND make_date(@year, 12, 1)`
)

// figure adapts query to an indicators.ComputeFunc; extra adds its named parameters.
func figure(code, query string, extra func(indicators.Query) map[string]any) indicators.ComputeFunc {
	return func(ctx context.Context, db *gorm.DB, q indicators.Query) (decimal.NullDecimal, error) {
		args := map[string]any{"departement": q.Departement, "year": q.Year, "territory": q.Territory}
		if extra != nil {
			for k, v := range extra(q) {
				args[k] = v
			}
		}
		var value decimal.Decimal
		if err := db.WithContext(ctx).Raw(query, args).Scan(&value).Error; err != nil {
			return decimal.NullDecimal{}, fmt.Errorf("compute %s for %d: %w", code, q.Year, err)
		}
		return decimal.NewNullDecimal(value), nil
	}
}

// minMonths is the min_months parameter of q, DefaultMinMonths when absent.
func minMonths(q indicators.Query) map[string]any {
	n, ok := q.Params[MinMonthsParam]
	if !ok {
		n = DefaultMinMonths
	}
	return map[string]any{"min_months": n}
}

// RegisterIndicators registers the cumul indicators of fiche 4.4 in r.
func RegisterIndicators(r *indicators.Registry) {
	r.Register(CodePeopleEnrolled, figure(CodePeopleEnrolled, peopleEnrolledSQL, nil))
	r.Register(CodePeopleMaintained, figure(CodePeopleMaintained, peopleMaintainedSQL, minMonths))
	r.Register(CodeAllocationsAmount, figure(CodeAllocationsAmount, allocationsAmountSQL, nil))
}
