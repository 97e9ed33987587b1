// Package demo loads the demonstration data of Parcours, taken from the Lot-et-Garonne
// deliberations of 25 September 2020 (shared/seed). Loading is idempotent.
package demo

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/territories"
)

// Departement is the département the source document belongs to.
const Departement = "47"

// Territories are the 8 social-action territories of Lot-et-Garonne. The document names them
// as "les 3 territoires agenais", Villeneuve-sur-Lot, Fumel, Marmande, Tonneins and Nérac
// (lines 751, 769, 868-869 of the seed); it gives the Agen ones no names of their own.
var Territories = []territories.NewTerritory{
	{Code: "47-AGEN1", Name: "Agen 1"},
	{Code: "47-AGEN2", Name: "Agen 2"},
	{Code: "47-AGEN3", Name: "Agen 3"},
	{Code: "47-VILLENEUVE", Name: "Villeneuve-sur-Lot"},
	{Code: "47-FUMEL", Name: "Fumel"},
	{Code: "47-MARMANDE", Name: "Marmande"},
	{Code: "47-TONNEINS", Name: "Tonneins"},
	{Code: "47-NERAC", Name: "Nérac"},
}

// Report counts what a seed run created and what was already there.
type Report struct {
	Created  int // territories created
	Existing int // territories already there
	Budget   budget.SeedReport
}

// Seed loads the demo data into db for département 47, as the "parcours seed demo" actor:
// the territories, then the 2020 convention (funding lines, fiches, budget lines, indicators).
func Seed(ctx context.Context, db *gorm.DB) (Report, error) {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Subject: "parcours seed demo", Role: auth.RoleAdmin, Departement: Departement})
	var rep Report
	err := services.WithTx(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
		svc := territories.New(db)
		for _, t := range Territories {
			_, err := svc.Get(ctx, t.Code)
			if err == nil {
				rep.Existing++
				continue
			}
			if !errors.Is(err, services.ErrNotFound) {
				return fmt.Errorf("seed territory %s: %w", t.Code, err)
			}
			if _, err := svc.Create(ctx, t); err != nil {
				return fmt.Errorf("seed territory %s: %w", t.Code, err)
			}
			rep.Created++
		}
		doc, err := budget.Convention2020()
		if err != nil {
			return err
		}
		rep.Budget, err = budget.Seed(ctx, db, doc)
		return err
	})
	return rep, err
}
