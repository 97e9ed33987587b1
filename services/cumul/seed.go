package cumul

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
)

const (
	schemeResource     = "cumul_scheme"
	parametersResource = "rsa_parameters"
)

// rates turns "size → decimal string" into the decimals of Parameters.
func rates(m map[int]string) map[int]decimal.Decimal {
	out := make(map[int]decimal.Decimal, len(m))
	for k, v := range m {
		out[k] = decimal.RequireFromString(v)
	}
	return out
}

func national(validFrom, amount string) Parameters {
	return Parameters{
		ValidFrom:       day(validFrom),
		OnePersonAmount: decimal.RequireFromString(amount),
		// Article R. 262-1 of the code de l'action sociale et des familles, for a couple and
		// its children: +50 % for the second person, +30 % for the third and fourth, +40 % for
		// each person beyond. A single parent's third child already counts +40 % (a household
		// of 4 is then × 2.2), and the increase for isolated parents is not modelled: for
		// those households, give rsa_without_wages.
		Multipliers:            rates(map[int]string{1: "1", 2: "1.5", 3: "1.8", 4: "2.1"}),
		FurtherPersonIncrement: decimal.RequireFromString("0.4"),
		// Article R. 262-10: the forfait logement is 12 % of the amount for one person, 16 %
		// of the amount for two, 16.5 % of the amount for three, for three or more.
		HousingRates: rates(map[int]string{1: "0.12", 2: "0.16", 3: "0.165"}),
	}
}

// NationalParameters are the rSa parameters of 2019-2021: the montant forfaitaire for one
// person as revalued each 1 April (559,74 € in 2019, 564,78 € in 2020, 565,34 € in 2021).
var NationalParameters = []Parameters{
	national("2019-04-01", "559.74"),
	national("2020-04-01", "564.78"),
	national("2021-04-01", "565.34"),
}

// Scheme is a département's cumul scheme: agreements lie within StartsOn–EndsOn, and the
// allocations of a year are charged to the budget line labelled BudgetLineLabel of fiche
// ActionCode of that year.
type Scheme struct {
	ActionCode      string
	BudgetLineLabel string
	StartsOn        time.Time
	EndsOn          time.Time
}

// Scheme44 is the scheme fiche 4.4 describes: it started on 1 April 2020 (seed lines
// 1532-1533) and is kept until the end of December 2021 (lines 1535, 3313); the département
// pays the allocations out of the 200 000 € line "Financement de l’allocation" (line 3336).
var Scheme44 = Scheme{ActionCode: "4.4", BudgetLineLabel: "Financement de l’allocation",
	StartsOn: day("2020-04-01"), EndsOn: day("2021-12-31")}

// SeedReport counts what a seed created.
type SeedReport struct {
	Schemes    int // 1 when the département's scheme was created
	Parameters int // rSa revaluations created
}

// Seed records, unless they are there, the national rSa parameters and the scheme of the
// caller's département, and audits what it creates. Running it again changes nothing.
func Seed(ctx context.Context, db *gorm.DB, scheme Scheme, params []Parameters) (SeedReport, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return SeedReport{}, err
	}
	var rep SeedReport
	err = services.WithTx(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
		for _, par := range params {
			created, err := seedParameters(ctx, tx, par)
			if err != nil {
				return err
			}
			if created {
				rep.Parameters++
			}
		}
		row := models.CumulScheme{Departement: p.Departement, ActionCode: scheme.ActionCode, BudgetLineLabel: scheme.BudgetLineLabel,
			StartsOn: scheme.StartsOn, EndsOn: scheme.EndsOn, Version: 1}
		var existing int64
		if err := tx.Model(&models.CumulScheme{}).Where("departement = ?", p.Departement).Count(&existing).Error; err != nil {
			return fmt.Errorf("look for the cumul scheme: %w", err)
		}
		if existing > 0 {
			return nil
		}
		rep.Schemes++
		return services.Insert(ctx, tx, &row, &row.ID, schemeResource, "the cumul scheme of "+p.Departement)
	})
	return rep, err
}

// seedParameters inserts par unless a revaluation of that day is there.
func seedParameters(ctx context.Context, tx *gorm.DB, par Parameters) (bool, error) {
	row := models.RSAParameters{ValidFrom: par.ValidFrom, OnePersonAmount: par.OnePersonAmount, FurtherPersonIncrement: par.FurtherPersonIncrement}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, fmt.Errorf("insert the rSa parameters of %s: %w", par.ValidFrom.Format(time.DateOnly), res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	var rows []any
	for size, m := range par.Multipliers {
		rows = append(rows, &models.RSAHouseholdMultiplier{ValidFrom: par.ValidFrom, HouseholdSize: size, Multiplier: m})
	}
	for size, r := range par.HousingRates {
		rows = append(rows, &models.RSAHousingRate{ValidFrom: par.ValidFrom, HouseholdSize: size, Rate: r})
	}
	for _, r := range rows {
		if err := tx.Create(r).Error; err != nil {
			return false, fmt.Errorf("insert the rSa parameters of %s: %w", par.ValidFrom.Format(time.DateOnly), err)
		}
	}
	return true, audit.Record(ctx, tx, audit.ActionCreate, parametersResource, par.ValidFrom.Format(time.DateOnly))
}

// loadParameters reads the rSa parameters in force on day; false when none is.
func loadParameters(tx *gorm.DB, day time.Time) (Parameters, bool, error) {
	var rows []models.RSAParameters
	if err := tx.Where("valid_from <= ?", day).Order("valid_from DESC").Limit(1).Find(&rows).Error; err != nil {
		return Parameters{}, false, fmt.Errorf("read the rSa parameters in force on %s: %w", day.Format(time.DateOnly), err)
	}
	if len(rows) == 0 {
		return Parameters{}, false, nil
	}
	p := Parameters{ValidFrom: rows[0].ValidFrom, OnePersonAmount: rows[0].OnePersonAmount,
		FurtherPersonIncrement: rows[0].FurtherPersonIncrement, Multipliers: map[int]decimal.Decimal{}, HousingRates: map[int]decimal.Decimal{}}
	var multipliers []models.RSAHouseholdMultiplier
	if err := tx.Where("valid_from = ?", p.ValidFrom).Find(&multipliers).Error; err != nil {
		return p, false, fmt.Errorf("read the rSa multipliers: %w", err)
	}
	for _, m := range multipliers {
		p.Multipliers[m.HouseholdSize] = m.Multiplier
	}
	var housing []models.RSAHousingRate
	if err := tx.Where("valid_from = ?", p.ValidFrom).Find(&housing).Error; err != nil {
		return p, false, fmt.Errorf("read the forfait logement rates: %w", err)
	}
	for _, h := range housing {
		p.HousingRates[h.HouseholdSize] = h.Rate
	}
	return p, true, nil
}

// loadScheme reads the scheme of departement; services.ErrNotFound when it has none.
func loadScheme(tx *gorm.DB, departement string) (models.CumulScheme, error) {
	var s models.CumulScheme
	err := models.Translate(tx.Where("departement = ?", departement).Take(&s).Error)
	if errors.Is(err, models.ErrNotFound) {
		return s, fmt.Errorf("the département has no cumul scheme: %w", services.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("read the cumul scheme: %w", err)
	}
	return s, nil
}

// day parses a calendar date of the package's data.
func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(fmt.Sprintf("cumul: bad date %q", s))
	}
	return d
}
