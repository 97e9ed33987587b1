package cumul

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"parcours/services"
)

// Envelope is a year's budget for the allocations, what they took of it and what is left.
type Envelope struct {
	Year      int
	Budget    decimal.Decimal
	Allocated decimal.Decimal
	Remaining decimal.Decimal
}

// Envelope returns the envelope of year: the scheme's budget line of that year, the sum of
// the allocations charged to it and the rest. A year without envelope is services.ErrNotFound.
// Administrators, managers and agents read it.
func (s *Service) Envelope(ctx context.Context, year int) (Envelope, error) {
	p, err := caller(ctx, "read the cumul envelope", envelopeReaders...)
	if err != nil {
		return Envelope{}, err
	}
	db := services.Conn(ctx, s.db)
	line, ok, err := findEnvelope(db, p.Departement, year, false)
	if err != nil {
		return Envelope{}, err
	}
	if !ok {
		return Envelope{}, fmt.Errorf("no cumul envelope for %d: %w", year, services.ErrNotFound)
	}
	allocated, err := allocatedOn(db, line.ID)
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{Year: year, Budget: line.Amount, Allocated: allocated, Remaining: line.Amount.Sub(allocated)}, nil
}

// Figures count allocations and sum their amounts.
type Figures struct {
	Allocations int64
	Amount      decimal.Decimal
}

// MonthFigures are the allocations of the month starting on Start.
type MonthFigures struct {
	Start time.Time
	Figures
}

// GroupFigures are the agreements of one sector or contract type in force during the year
// (and the people they concern) and their allocations of the year.
type GroupFigures struct {
	Key        string
	Agreements int64
	People     int64
	Figures
}

// Summary sums a year's allocations by month, sector and contract type.
type Summary struct {
	Year           int
	Months         []MonthFigures // the 12 months, January first
	Total          GroupFigures   // Key ""
	BySector       []GroupFigures // every sector, in the order of Sectors
	ByContractType []GroupFigures // every contract type, in the order of ContractTypes
}

// summaryMonthsSQL sums the allocations of each month of @year.
const summaryMonthsSQL = `SELECT CAST(m AS date) AS start, count(al.id) AS allocations, coalesce(sum(al.amount), 0) AS amount
FROM generate_series(make_date(@year, 1, 1), make_date(@year, 12, 1), interval '1 month') AS m
LEFT JOIN cumul_allocations al ON al.departement = @departement AND al.month = m
GROUP BY m
ORDER BY m`

// summaryGroupsSQL counts the agreements in force during @year (and their people) and their
// allocations of @year, by sector, by contract type and in all (GROUPING SETS; the total row
// has both keys NULL).
const summaryGroupsSQL = `WITH agreements AS (
	SELECT ag.id, ag.beneficiary_id, ag.sector, ag.contract_type
	FROM cumul_agreements ag
	WHERE ag.departement = @departement
	  AND ag.starts_on <= make_date(@year, 12, 31) AND ag.ends_on >= make_date(@year, 1, 1)
),
allocated AS (
	SELECT al.agreement_id, count(*) AS allocations, sum(al.amount) AS amount
	FROM cumul_allocations al
	WHERE al.departement = @departement AND al.month BETWEEN make_date(@year, 1, 1) AND make_date(@year, 12, 1)
	GROUP BY al.agreement_id
)
SELECT x.sector, x.contract_type, count(*) AS agreements, count(DISTINCT x.beneficiary_id) AS people,
       coalesce(sum(y.allocations), 0) AS allocations, coalesce(sum(y.amount), 0) AS amount
FROM agreements x
LEFT JOIN allocated y ON y.agreement_id = x.id
GROUP BY GROUPING SETS ((x.sector), (x.contract_type), ())`

type groupRow struct {
	Sector       *string
	ContractType *string
	Agreements   int64
	People       int64
	Allocations  int64
	Amount       decimal.Decimal
}

// Summary sums the allocations of year in SQL: per month, in all, and by sector and contract
// type with the agreements in force during the year. Administrators and managers read it.
func (s *Service) Summary(ctx context.Context, year int) (Summary, error) {
	p, err := caller(ctx, "read the cumul summary", aggregateReaders...)
	if err != nil {
		return Summary{}, err
	}
	db := services.Conn(ctx, s.db)
	args := map[string]any{"departement": p.Departement, "year": year}
	out := Summary{Year: year}
	if err := db.Raw(summaryMonthsSQL, args).Scan(&out.Months).Error; err != nil {
		return Summary{}, fmt.Errorf("sum the cumul allocations of %d by month: %w", year, err)
	}
	var rows []groupRow
	if err := db.Raw(summaryGroupsSQL, args).Scan(&rows).Error; err != nil {
		return Summary{}, fmt.Errorf("sum the cumul allocations of %d by group: %w", year, err)
	}
	out.Total, out.BySector, out.ByContractType = groups(rows)
	return out, nil
}

// groups sorts the rows of summaryGroupsSQL into the total and the two breakdowns, with a
// zero row for every sector and contract type that has none.
func groups(rows []groupRow) (total GroupFigures, bySector, byType []GroupFigures) {
	find := func(key string, pick func(groupRow) *string) GroupFigures {
		for _, r := range rows {
			if k := pick(r); k != nil && *k == key {
				return GroupFigures{Key: key, Agreements: r.Agreements, People: r.People, Figures: Figures{Allocations: r.Allocations, Amount: r.Amount}}
			}
		}
		return GroupFigures{Key: key}
	}
	for _, r := range rows {
		if r.Sector == nil && r.ContractType == nil {
			total = GroupFigures{Agreements: r.Agreements, People: r.People, Figures: Figures{Allocations: r.Allocations, Amount: r.Amount}}
		}
	}
	for _, k := range Sectors {
		bySector = append(bySector, find(k, func(r groupRow) *string { return r.Sector }))
	}
	for _, k := range ContractTypes {
		byType = append(byType, find(k, func(r groupRow) *string { return r.ContractType }))
	}
	return total, bySector, byType
}
