package synthetic

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/cumul"
	"parcours/services/demo"
)

// territoriesPerDepartement follows Lot-et-Garonne: 8 social-action territories.
const territoriesPerDepartement = 8

// budgetYear is the year of the convention fiches the expenses and allocations are charged to.
const budgetYear = 2020

// reference is what the bulk rows of one département point at.
type reference struct {
	code        string
	territories []string
	poleEmploi  int64   // the Pôle emploi site that holds the platforms
	cms         []int64 // one per territory, for the social route
	referents   map[int64]int64
	programmes  map[string]programme // by route
	actions     []int64              // the fiches of budgetYear
	cumulLine   int64                // the envelope of the cumul allocations
	suppliers   []string
}

// programme is a programme of the catalogue as the enrolments use it.
type programme struct {
	id           int64
	organisation int64
	maxMonths    int
	events       []string // the costed events of the programme
	contract     string   // the contract its beneficiaries sign
}

// catalogue maps an orientation route ("independent" for independent workers) to the demo
// programme it leads to and the kind of organisation that provides it.
var catalogue = []struct{ route, code, provider, contract string }{
	{"professionnelle", "offre_departementale_emploi", "departement", "cer"},
	{"socio_professionnelle", "accompagnement_global", "pole_emploi", "ppae"},
	{"sociale", "asid", "association", "cer"},
	{"independent", "ti_diagnostic", "departement", "cer_ti"},
}

// setup writes the reference data of one département, in one transaction: territories, the
// 2020 convention of the demo document, the cumul scheme, organisations with a referent
// each, and the programmes.
func setup(ctx context.Context, db *gorm.DB, code string) (reference, error) {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Subject: Actor, Role: auth.RoleAdmin, Departement: code})
	ref := reference{code: code, referents: map[int64]int64{}, programmes: map[string]programme{}}
	err := services.WithTx(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
		var existing int64
		if err := tx.Raw(`SELECT count(*) FROM territories WHERE departement = ?`, code).Scan(&existing).Error; err != nil {
			return fmt.Errorf("look for territories: %w", err)
		}
		if existing > 0 {
			return fmt.Errorf("the département already has territories, seed a fresh database: %w", services.ErrConflict)
		}
		doc, err := budget.Convention2020()
		if err != nil {
			return err
		}
		doc.Departement = code
		if _, err := budget.Seed(ctx, db, doc); err != nil {
			return err
		}
		if _, err := cumul.Seed(ctx, db, cumul.Scheme44, cumul.NationalParameters); err != nil {
			return err
		}
		for _, step := range []func(*gorm.DB, *reference) error{setupTerritories, setupOrganisations, setupProgrammes, setupBudgetRefs} {
			if err := step(tx, &ref); err != nil {
				return err
			}
		}
		return nil
	})
	return ref, err
}

func setupTerritories(tx *gorm.DB, ref *reference) error {
	for i := 1; i <= territoriesPerDepartement; i++ {
		t := fmt.Sprintf("%s-T%d", ref.code, i)
		if err := tx.Exec(`INSERT INTO territories (departement, code, name) VALUES (?, ?, ?)`,
			ref.code, t, fmt.Sprintf("Territoire %d", i)).Error; err != nil {
			return fmt.Errorf("insert territory %s: %w", t, err)
		}
		ref.territories = append(ref.territories, t)
	}
	return nil
}

// organisation inserts an organisation and its one fictitious referent.
func organisation(tx *gorm.DB, ref *reference, name, kind string, territory *string) (int64, error) {
	var id int64
	if err := tx.Raw(`INSERT INTO organisations (departement, name, kind, territory_code) VALUES (?, ?, ?, ?) RETURNING id`,
		ref.code, name, kind, territory).Scan(&id).Error; err != nil {
		return 0, fmt.Errorf("insert organisation %s: %w", name, err)
	}
	var referent int64
	if err := tx.Raw(`INSERT INTO referents (departement, organisation_id, last_name, first_name) VALUES (?, ?, ?, ?) RETURNING id`,
		ref.code, id, lastNames[id%int64(len(lastNames))], firstNames[id%int64(len(firstNames))]).Scan(&referent).Error; err != nil {
		return 0, fmt.Errorf("insert the referent of %s: %w", name, err)
	}
	ref.referents[id] = referent
	ref.suppliers = append(ref.suppliers, name)
	return id, nil
}

// setupOrganisations creates the Pôle emploi site, the département's insertion service, an
// association and one CMS per territory.
func setupOrganisations(tx *gorm.DB, ref *reference) error {
	var err error
	if ref.poleEmploi, err = organisation(tx, ref, "Pôle emploi "+ref.code, "pole_emploi", &ref.territories[0]); err != nil {
		return err
	}
	providers := map[string]int64{"pole_emploi": ref.poleEmploi}
	if providers["departement"], err = organisation(tx, ref, "Département "+ref.code+" – insertion", "departement", nil); err != nil {
		return err
	}
	if providers["association"], err = organisation(tx, ref, "Association d'insertion "+ref.code, "association", nil); err != nil {
		return err
	}
	for i := range ref.territories {
		id, err := organisation(tx, ref, fmt.Sprintf("CMS %s %d", ref.code, i+1), "departement", &ref.territories[i])
		if err != nil {
			return err
		}
		ref.cms = append(ref.cms, id)
	}
	for _, c := range catalogue {
		ref.programmes[c.route] = programme{organisation: providers[c.provider], contract: c.contract}
	}
	return nil
}

// setupProgrammes creates the programmes of catalogue as the demo catalogue describes them.
func setupProgrammes(tx *gorm.DB, ref *reference) error {
	for _, c := range catalogue {
		d, ok := demoProgramme(c.code)
		if !ok {
			return fmt.Errorf("no demo programme %s", c.code)
		}
		p := ref.programmes[c.route]
		p.maxMonths = d.MaxMonths
		if err := tx.Raw(`INSERT INTO programmes (departement, code, name, action_code, max_months, max_renewals)
			VALUES (?, ?, ?, ?, NULLIF(?, 0), ?) RETURNING id`, ref.code, d.Code, d.Name, d.Action, d.MaxMonths, d.MaxRenewals).
			Scan(&p.id).Error; err != nil {
			return fmt.Errorf("insert programme %s: %w", d.Code, err)
		}
		if err := tx.Exec(`INSERT INTO programme_organisations (programme_id, organisation_id) VALUES (?, ?)`, p.id, p.organisation).Error; err != nil {
			return fmt.Errorf("insert the provider of %s: %w", d.Code, err)
		}
		for _, u := range d.UnitCosts {
			if err := tx.Exec(`INSERT INTO programme_unit_costs (programme_id, basis, event, amount) VALUES (?, ?, ?, ?)`,
				p.id, u.Basis, u.Event, u.Amount).Error; err != nil {
				return fmt.Errorf("insert a unit cost of %s: %w", d.Code, err)
			}
			if u.Event != "" {
				p.events = append(p.events, u.Event)
			}
		}
		ref.programmes[c.route] = p
	}
	return nil
}

func demoProgramme(code string) (demo.Programme, bool) {
	for _, p := range demo.Programmes {
		if p.Code == code {
			return p, true
		}
	}
	return demo.Programme{}, false
}

// setupBudgetRefs reads the fiches of budgetYear and the envelope of the cumul allocations.
func setupBudgetRefs(tx *gorm.DB, ref *reference) error {
	if err := tx.Raw(`SELECT id FROM actions WHERE departement = ? AND year = ? ORDER BY position, id`, ref.code, budgetYear).
		Scan(&ref.actions).Error; err != nil {
		return fmt.Errorf("read the fiches: %w", err)
	}
	err := tx.Raw(`SELECT l.id FROM budget_lines l JOIN actions a ON a.id = l.action_id
		WHERE a.departement = ? AND a.year = ? AND a.code = ? AND l.label = ? ORDER BY l.id LIMIT 1`,
		ref.code, budgetYear, cumul.Scheme44.ActionCode, cumul.Scheme44.BudgetLineLabel).Scan(&ref.cumulLine).Error
	if err != nil || ref.cumulLine == 0 || len(ref.actions) == 0 {
		return fmt.Errorf("the %d convention has no fiche %s line %q: %w", budgetYear, cumul.Scheme44.ActionCode,
			cumul.Scheme44.BudgetLineLabel, err)
	}
	return nil
}
