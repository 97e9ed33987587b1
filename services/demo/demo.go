// Package demo loads the demonstration data of Parcours, taken from the Lot-et-Garonne
// deliberations of 25 September 2020 (shared/seed). Loading is idempotent.
package demo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
	"parcours/services/budget"
	"parcours/services/cumul"
	"parcours/services/organisations"
	"parcours/services/pii"
	"parcours/services/programmes"
	"parcours/services/sessions"
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

// Organisation is a demo organisation and its fictitious referents ("First Last").
type Organisation struct {
	Name      string
	Kind      string
	Territory string // "" when it serves the whole département
	Referents [][2]string
}

// Names of the organisations the demo platform and programmes refer to.
const (
	PoleEmploiAgen = "Pôle emploi Agen"
	CMSAgen1       = "CMS Agen 1"
	DASI           = "Département de Lot-et-Garonne – Direction Actions Sociales et d'Insertion"
)

// Organisations are the structures the document names, with the lines of the seed that name
// them. It names no mission locale (only "les missions locales" in general, lines 417 and
// 494), so there is none. The referents are fictitious.
var Organisations = []Organisation{
	// The platforms are held at Pôle emploi (line 787), first on the Agen sector (lines
	// 2628, 2645), then at Marmande and Villeneuve-sur-Lot (line 2632).
	{Name: PoleEmploiAgen, Kind: "pole_emploi", Territory: "47-AGEN1", Referents: [][2]string{{"Claire", "Dubois"}, {"Marc", "Lefèvre"}}},
	{Name: "Pôle emploi Villeneuve-sur-Lot", Kind: "pole_emploi", Territory: "47-VILLENEUVE"},
	{Name: "Pôle emploi Marmande", Kind: "pole_emploi", Territory: "47-MARMANDE"},
	// The Direction Actions Sociales et d'Insertion of the DGA Développement social (lines
	// 650-652) and the 8 CMS, one per territory (lines 2373, 2415).
	{Name: DASI, Kind: "departement"},
	{Name: CMSAgen1, Kind: "departement", Territory: "47-AGEN1", Referents: [][2]string{{"Isabelle", "Girard"}}},
	{Name: "CMS Agen 2", Kind: "departement", Territory: "47-AGEN2"},
	{Name: "CMS Agen 3", Kind: "departement", Territory: "47-AGEN3"},
	{Name: "CMS Villeneuve-sur-Lot", Kind: "departement", Territory: "47-VILLENEUVE"},
	{Name: "CMS Fumel", Kind: "departement", Territory: "47-FUMEL"},
	{Name: "CMS Marmande", Kind: "departement", Territory: "47-MARMANDE"},
	{Name: "CMS Tonneins", Kind: "departement", Territory: "47-TONNEINS"},
	{Name: "CMS Nérac", Kind: "departement", Territory: "47-NERAC"},
	// The CCAS and the association Pôle emploi contracts with for the accompagnement global
	// (line 990).
	{Name: "CCAS de Villeneuve-sur-Lot", Kind: "ccas", Territory: "47-VILLENEUVE", Referents: [][2]string{{"Sandrine", "Roux"}}},
	{Name: "CCAS de Marmande", Kind: "ccas", Territory: "47-MARMANDE"},
	{Name: "CCAS de Tonneins", Kind: "ccas", Territory: "47-TONNEINS"},
	{Name: "L'Escale", Kind: "association"},
	// The operators of the ASID measures (line 1918).
	{Name: "AFEPT", Kind: "association"},
	{Name: "INSUP Aquitaine", Kind: "association"},
	// The PLIE (lines 1970-1974) and the partners of the Agen platform (line 2646).
	{Name: "PLIE de l'Agenais", Kind: "plie", Referents: [][2]string{{"Nicolas", "Fabre"}}},
	{Name: "Le Creuset", Kind: "association"},
	{Name: "Coup de Pouce", Kind: "association"},
	// The two associations the PAAJM is contracted to (lines 338, 2216, 2220).
	{Name: "Solincité", Kind: "association"},
	{Name: "La Sauvegarde", Kind: "association"},
}

// Programme is a demo programme of the catalogue, with the names of the organisations that
// provide it; a zero MaxMonths or Capacity is no limit.
type Programme struct {
	Code, Name, Action string
	Organisations      []string
	UnitCosts          []programmes.UnitCost
	MaxMonths          int
	MaxRenewals        int
	Capacity           int
}

// Programmes are the accompaniment programmes the document describes, with the lines of the
// seed that state their rules.
var Programmes = []Programme{
	// Fiche 4.1: Pôle emploi's dedicated advisers (line 2809) for 490 people, 70 per portfolio
	// for a pool of 7 employment advisers (lines 996-997, 2849-2850).
	{Code: "accompagnement_global", Name: "Accompagnement global", Action: "4.1",
		Organisations: []string{PoleEmploiAgen, "Pôle emploi Villeneuve-sur-Lot", "Pôle emploi Marmande"}, Capacity: 7 * 70},
	// Fiche 4.2: the département's offer for the people oriented "professionnel" (line 2936),
	// by its conseillers en insertion professionnelle (lines 2966-2968).
	{Code: "offre_departementale_emploi", Name: "Offre d'accompagnement départementale des BrSa orientés professionnel",
		Action: "4.2", Organisations: []string{DASI}},
	// Fiche 4.3, new independent workers: a viability diagnostic of at most 3 months (line
	// 3134), 160 € per first evaluation (line 3203).
	{Code: "ti_diagnostic", Name: "Travailleurs indépendants : diagnostic de viabilité", Action: "4.3",
		Organisations: []string{DASI}, UnitCosts: []programmes.UnitCost{cost(programmes.BasisPerEvent, "first_evaluation", "160.00")},
		MaxMonths: 3},
	// Then the development phase, 9 months to a year (line 3137): 258 € per accompaniment
	// (line 3205) and 150 € per viability evaluation (lines 3207-3208).
	{Code: "ti_developpement", Name: "Travailleurs indépendants : accompagnement du développement", Action: "4.3",
		Organisations: []string{DASI}, UnitCosts: []programmes.UnitCost{cost(programmes.BasisPerEnrolment, "", "258.00"),
			cost(programmes.BasisPerEvent, "viability_evaluation", "150.00")}, MaxMonths: 12},
	// Fiche 1.1: 250 € per diagnostic interview and 600 € per month per young person (lines
	// 349-350), 20 in the active file (line 352), 6 months renewable once (lines 354-355).
	{Code: "paajm", Name: "Préparation et accompagnement à l'autonomie des jeunes majeurs (PAAJM)", Action: "1.1",
		Organisations: []string{"Solincité", "La Sauvegarde"}, UnitCosts: []programmes.UnitCost{
			cost(programmes.BasisPerEvent, "diagnostic_interview", "250.00"), cost(programmes.BasisPerMonth, "", "600.00")},
		MaxMonths: 6, MaxRenewals: 1, Capacity: 20},
	// Fiche 6.2: the ASID measures (line 1913), by AFEPT and INSUP Aquitaine among others
	// (line 1918), over 9 months (lines 1924, 3713).
	{Code: "asid", Name: "Accompagnement social individualisé départemental (ASID)", Action: "6.2",
		Organisations: []string{"AFEPT", "INSUP Aquitaine"}, MaxMonths: 9},
	// Fiche 6.2: the pool of insertion nurses (lines 1938, 3727) alongside the CMS teams (line
	// 1899).
	{Code: "pool_infirmier", Name: "Pool infirmier·es d'insertion", Action: "6.2", Organisations: cmsNames()},
	// Fiche 6.2, mobility aid: 1 000 € towards the driving licence of 12 rSa beneficiaries
	// in each of three social driving schools (lines 1963-1965, 3749).
	{Code: "aide_permis", Name: "Aide au permis de conduire", Action: "6.2", Organisations: []string{DASI},
		UnitCosts: []programmes.UnitCost{cost(programmes.BasisPerEnrolment, "", "1000.00")}, Capacity: 3 * 12},
}

func cost(basis, event, amount string) programmes.UnitCost {
	return programmes.UnitCost{Basis: basis, Event: event, Amount: decimal.RequireFromString(amount)}
}

// cmsNames are the names of the 8 CMS among the demo organisations.
func cmsNames() []string {
	var names []string
	for _, o := range Organisations {
		if strings.HasPrefix(o.Name, "CMS ") {
			names = append(names, o.Name)
		}
	}
	return names
}

// PlatformStartsAt is the first orientation platform, held on 13 December 2019 at Pôle emploi
// Agen (seed line 813); the hour is not in the document.
var PlatformStartsAt = time.Date(2019, 12, 13, 9, 0, 0, 0, sessions.Local)

// entrant is one fictitious new entrant convoked to the first platform, and what became of
// them (seed lines 819-824).
type entrant struct {
	last, first, birth, nir, commune, caf, rightsOpened string
	attendance                                          string
	catchUp                                             string // date of the attended catch-up, or ""
	formalNotice                                        bool
	route, organisation, referent, decided, origin      string // the orientation, if any
}

// entrants: 10 convoked, 7 present, 3 absent without excuse; 2 of these came within 15 days
// on individual appointments (one oriented to Pôle emploi, one to the social route) and 1 got
// a formal notice; of the 7 present, 4 were oriented to Pôle emploi, 2 to the accompagnement
// global and 1 otherwise (end of pregnancy: social). Names, NIRs and numbers are fictitious.
var entrants = []entrant{
	{"LAMBERT", "Sophie", "1985-03-14", "285034700190182", "Agen", "9470001", "2019-11-04", sessions.Present, "", false, "professionnelle", PoleEmploiAgen, "Claire Dubois", "2019-12-13", "platform"},
	{"MOREAU", "Karim", "1979-07-02", "179074700190204", "Boé", "9470002", "2019-11-05", sessions.Present, "", false, "professionnelle", PoleEmploiAgen, "Claire Dubois", "2019-12-13", "platform"},
	{"GARNIER", "Nadia", "1992-11-23", "292114700190359", "Le Passage", "9470003", "2019-11-07", sessions.Present, "", false, "professionnelle", PoleEmploiAgen, "Claire Dubois", "2019-12-13", "platform"},
	{"ROUSSEAU", "Thomas", "1988-01-30", "188014700190447", "Agen", "9470004", "2019-11-08", sessions.Present, "", false, "professionnelle", PoleEmploiAgen, "Claire Dubois", "2019-12-13", "platform"},
	{"FAURE", "Émilie", "1995-05-08", "295054700190508", "Bon-Encontre", "9470005", "2019-11-12", sessions.Present, "", false, "socio_professionnelle", PoleEmploiAgen, "Marc Lefèvre", "2019-12-13", "platform"},
	{"CHEVALIER", "Mehdi", "1983-09-17", "183094700190630", "Agen", "9470006", "2019-11-14", sessions.Present, "", false, "socio_professionnelle", PoleEmploiAgen, "Marc Lefèvre", "2019-12-13", "platform"},
	{"LECLERC", "Amandine", "1990-12-05", "290124700190772", "Foulayronnes", "9470007", "2019-11-15", sessions.Present, "", false, "sociale", CMSAgen1, "Isabelle Girard", "2019-12-13", "platform"},
	{"PERRIN", "Julien", "1976-04-21", "176044700190897", "Agen", "9470008", "2019-11-19", sessions.NoShow, "2019-12-20", false, "professionnelle", PoleEmploiAgen, "Claire Dubois", "2019-12-20", "individual"},
	{"MARCHAND", "Laura", "1998-06-11", "298064700190967", "Boé", "9470009", "2019-11-21", sessions.NoShow, "2019-12-23", false, "sociale", CMSAgen1, "Isabelle Girard", "2019-12-23", "individual"},
	{"RENARD", "Olivier", "1981-10-29", "181104700191043", "Le Passage", "9470010", "2019-11-22", sessions.NoShow, "", true, "", "", "", "", ""},
}

// Demo dates of the platform: the letters went out on 2 December 2019; the formal notice on 20
// December with a month to answer.
var (
	convocationsSentOn  = day("2019-12-02")
	formalNoticeIssued  = day("2019-12-20")
	formalNoticeAnswer  = day("2020-01-20")
	orientationNotified = 3 // days after the decision
)

// Report counts what a seed run created and what was already there.
type Report struct {
	Created            int // territories created
	Existing           int // territories already there
	Budget             budget.SeedReport
	Pathway            PathwayReport
	Programmes         int // programmes created
	ProgrammesExisting int // programmes already there
	Cumul              cumul.SeedReport
}

// PathwayReport counts the organisations, referents and first platform a seed run created.
type PathwayReport struct {
	Organisations         int
	OrganisationsExisting int
	Referents             int
	Sessions              int
	Beneficiaries         int
	Convocations          int
	CatchUps              int
	FormalNotices         int
	Orientations          int
}

// Seed loads the demo data into db for département 47, as the "parcours seed demo" actor:
// the territories, the 2020 convention (funding lines, fiches, budget lines, indicators), the
// organisations and referents, the programmes, the cumul scheme of fiche 4.4 with the dated
// rSa parameters, and the first orientation platform with its entrants, whose NIRs cipher
// protects.
func Seed(ctx context.Context, db *gorm.DB, cipher *pii.Cipher) (Report, error) {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Subject: "parcours seed demo", Role: auth.RoleAdmin, Departement: Departement})
	var rep Report
	err := services.WithTx(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
		if err := seedTerritories(ctx, db, &rep); err != nil {
			return err
		}
		doc, err := budget.Convention2020()
		if err != nil {
			return err
		}
		if rep.Budget, err = budget.Seed(ctx, db, doc); err != nil {
			return err
		}
		ids, err := seedOrganisations(ctx, db, &rep.Pathway)
		if err != nil {
			return err
		}
		if err := seedProgrammes(ctx, db, ids, &rep); err != nil {
			return err
		}
		// Fiche 4.4: the scheme's window and envelope, and the rSa parameters of 2019-2021.
		if rep.Cumul, err = cumul.Seed(ctx, db, cumul.Scheme44, cumul.NationalParameters); err != nil {
			return err
		}
		return seedPlatform(ctx, tx, db, cipher, ids, &rep.Pathway)
	})
	return rep, err
}

func seedTerritories(ctx context.Context, db *gorm.DB, rep *Report) error {
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
	return nil
}

// seedIDs are the ids of the demo organisations by name and of their referents by "First
// Last".
type seedIDs struct {
	organisations map[string]int64
	referents     map[string]int64
}

// seedOrganisations creates the organisations that are not there yet, with their referents.
func seedOrganisations(ctx context.Context, db *gorm.DB, rep *PathwayReport) (seedIDs, error) {
	svc := organisations.New(db)
	ids := seedIDs{organisations: map[string]int64{}, referents: map[string]int64{}}
	for _, o := range Organisations {
		created, err := svc.Create(ctx, organisations.Input{Name: &o.Name, Kind: &o.Kind, TerritoryCode: &o.Territory})
		var dup *services.DuplicateError
		if errors.As(err, &dup) {
			ids.organisations[o.Name] = dup.ExistingID
			rep.OrganisationsExisting++
			continue
		}
		if err != nil {
			return ids, fmt.Errorf("seed organisation %s: %w", o.Name, err)
		}
		ids.organisations[o.Name] = created.ID
		rep.Organisations++
		for _, name := range o.Referents {
			email := fmt.Sprintf("%s.%s@example.org", name[0], name[1])
			r, err := svc.CreateReferent(ctx, created.ID, organisations.ReferentInput{FirstName: &name[0], LastName: &name[1], Email: &email})
			if err != nil {
				return ids, fmt.Errorf("seed a referent of %s: %w", o.Name, err)
			}
			ids.referents[name[0]+" "+name[1]] = r.ID
			rep.Referents++
		}
	}
	return ids, nil
}

// seedProgrammes creates the programmes that are not there yet.
func seedProgrammes(ctx context.Context, db *gorm.DB, ids seedIDs, rep *Report) error {
	svc := programmes.New(db)
	for _, pr := range Programmes {
		_, err := svc.Get(ctx, pr.Code)
		if err == nil {
			rep.ProgrammesExisting++
			continue
		}
		if !errors.Is(err, services.ErrNotFound) {
			return fmt.Errorf("seed programme %s: %w", pr.Code, err)
		}
		orgs := make([]int64, len(pr.Organisations))
		for i, name := range pr.Organisations {
			orgs[i] = ids.organisations[name]
		}
		costs := append([]programmes.UnitCost{}, pr.UnitCosts...)
		in := programmes.Input{Code: &pr.Code, Name: &pr.Name, ActionCode: &pr.Action, OrganisationIDs: &orgs, UnitCosts: &costs,
			MaxMonths: &pr.MaxMonths, MaxRenewals: &pr.MaxRenewals, Capacity: &pr.Capacity}
		if _, err := svc.Create(ctx, in); err != nil {
			return fmt.Errorf("seed programme %s: %w", pr.Code, err)
		}
		rep.Programmes++
	}
	return nil
}

// seedPlatform creates the platform of 13 December 2019 unless it is there: its session, its
// entrants, their convocations, attendance, catch-ups, formal notice and orientations.
func seedPlatform(ctx context.Context, tx, db *gorm.DB, cipher *pii.Cipher, ids seedIDs, rep *PathwayReport) error {
	site := ids.organisations[PoleEmploiAgen]
	var n int64
	if err := tx.Model(&models.OrientationSession{}).Where("departement = ? AND site_organisation_id = ? AND starts_at = ?",
		Departement, site, PlatformStartsAt).Count(&n).Error; err != nil {
		return fmt.Errorf("look for the demo platform: %w", err)
	}
	if n > 0 {
		return nil
	}
	svc := sessions.New(db)
	territory, capacity := "47-AGEN1", 12
	employment, social := "Conseillère emploi, Pôle emploi Agen", "Assistante sociale, CMS Agen 1"
	session, err := svc.Create(ctx, sessions.SessionInput{TerritoryCode: &territory, SiteOrganisationID: &site, StartsAt: &PlatformStartsAt,
		Capacity: &capacity, EmploymentProfessional: &employment, SocialProfessional: &social})
	if err != nil {
		return fmt.Errorf("seed the demo platform: %w", err)
	}
	rep.Sessions++
	people := beneficiaries.New(db, cipher)
	for _, e := range entrants {
		if err := seedEntrant(ctx, tx, svc, people, session.ID, e, ids, rep); err != nil {
			return fmt.Errorf("seed entrant %s: %w", e.caf, err)
		}
	}
	return nil
}

// seedEntrant creates one entrant and walks them through the platform.
func seedEntrant(ctx context.Context, tx *gorm.DB, svc *sessions.Service, people *beneficiaries.Service, sessionID int64,
	e entrant, ids seedIDs, rep *PathwayReport) error {
	beneficiaryID, err := seedBeneficiary(ctx, people, e, rep)
	if err != nil {
		return err
	}
	c, err := svc.Convoke(ctx, sessionID, sessions.ConvocationInput{BeneficiaryID: &beneficiaryID, SentOn: &convocationsSentOn})
	if err != nil {
		return err
	}
	rep.Convocations++
	if c, err = svc.RecordAttendance(ctx, c.ID, c.Version, e.attendance); err != nil {
		return err
	}
	if e.catchUp != "" {
		date, attended := day(e.catchUp), true
		if _, err := svc.CatchUp(ctx, c.ID, sessions.CatchUpInput{Date: &date, Attended: &attended}); err != nil {
			return err
		}
		rep.CatchUps++
	}
	if e.formalNotice {
		if _, err := svc.IssueFormalNotice(ctx, c.ID, sessions.FormalNoticeInput{IssuedOn: &formalNoticeIssued, ResponseDeadline: &formalNoticeAnswer}); err != nil {
			return err
		}
		rep.FormalNotices++
	}
	if e.route == "" {
		return nil
	}
	o := models.Orientation{Departement: Departement, BeneficiaryID: beneficiaryID, Route: e.route, OrganisationID: ids.organisations[e.organisation],
		DecidedOn: day(e.decided), Origin: e.origin, Current: true}
	notified := o.DecidedOn.AddDate(0, 0, orientationNotified)
	o.NotifiedOn = &notified
	if id, ok := ids.referents[e.referent]; ok {
		o.ReferentID = &id
	}
	if e.origin == "platform" {
		o.ConvocationID = &c.ID
	}
	if err := tx.Omit("CreatedAt").Clauses(clause.Returning{}).Create(&o).Error; err != nil {
		return fmt.Errorf("create orientation: %w", err)
	}
	rep.Orientations++
	return audit.Record(ctx, tx, audit.ActionCreate, "orientation", strconv.FormatInt(o.ID, 10))
}

// seedBeneficiary creates the entrant's record, or finds it when it is already there.
func seedBeneficiary(ctx context.Context, people *beneficiaries.Service, e entrant, rep *PathwayReport) (int64, error) {
	birth, opened := day(e.birth), day(e.rightsOpened)
	payer, territory := "caf", "47-AGEN1"
	b, err := people.Create(ctx, beneficiaries.Input{LastName: &e.last, FirstName: &e.first, BirthDate: &birth, Payer: &payer,
		AllocataireNumber: &e.caf, NIR: &e.nir, TerritoryCode: &territory, Commune: &e.commune, RightsOpenedOn: &opened})
	var dup *services.DuplicateError
	if errors.As(err, &dup) {
		return dup.ExistingID, nil
	}
	if err != nil {
		return 0, err
	}
	rep.Beneficiaries++
	return b.ID, nil
}

// day parses a calendar date of the demo data.
func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(fmt.Sprintf("demo: bad date %q", s))
	}
	return d
}
