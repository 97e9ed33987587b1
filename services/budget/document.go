package budget

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
)

// convention2020 is the 2020 amendment of the Lot-et-Garonne CALPAE convention, transcribed
// from the deliberations of 25 September 2020 (shared/seed) with the line of every figure;
// docs/seed-2020-notes.md says how, and a test checks each figure against its line.
//
//go:embed data/convention_2020.json
var convention2020 []byte

// Document is a transcribed convention: its years, funding lines, actions, budget lines and
// indicators. Only the fields the database keeps are decoded.
type Document struct {
	Departement string `json:"departement"`
	Convention  struct {
		Name        string `json:"name"`
		PeriodStart int    `json:"period_start"`
		PeriodEnd   int    `json:"period_end"`
		SignedOn    string `json:"signed_on"`
	} `json:"convention"`
	Years []struct {
		Year         int                 `json:"year"`
		State        decimal.NullDecimal `json:"state"`         // 2019: the State's part
		StateSupport decimal.NullDecimal `json:"state_support"` // 2020: fixed by the amendment
		Departement  decimal.NullDecimal `json:"departement"`
		Amendments   []struct {
			Number int                 `json:"number"`
			Date   string              `json:"date"`
			Amount decimal.NullDecimal `json:"amount"`
		} `json:"amendments"`
	} `json:"years"`
	FundingLines []struct {
		Chorus      string          `json:"chorus"`
		Theme       string          `json:"theme"`
		Label       string          `json:"chorus_label"`
		Prenotified decimal.Decimal `json:"prenotified"`
		Carryover   decimal.Decimal `json:"carryover"`
	} `json:"funding_lines"`
	Actions []DocumentAction `json:"actions"`
}

// DocumentAction is one fiche of a Document.
type DocumentAction struct {
	Code             string          `json:"code"`
	Title            string          `json:"title"`
	Category         string          `json:"category"`
	FundingLine      string          `json:"funding_line"`
	Budget           decimal.Decimal `json:"budget"`
	StateShare       decimal.Decimal `json:"state_share"`
	DepartementShare decimal.Decimal `json:"departement_share"`
	Valuation        decimal.Decimal `json:"valuation"`
	Carryover        decimal.Decimal `json:"carryover"`
	OtherFunders     decimal.Decimal `json:"other_funders"`
	FicheTable       struct {
		PrintedTotal *struct {
			Amount      decimal.Decimal `json:"amount"`
			State       decimal.Decimal `json:"state"`
			Departement decimal.Decimal `json:"departement"`
			Other       decimal.Decimal `json:"other"`
		} `json:"printed_total"`
		Lines []struct {
			Label       string          `json:"label"`
			Amount      decimal.Decimal `json:"amount"`
			State       decimal.Decimal `json:"state"`
			Departement decimal.Decimal `json:"departement"`
			Other       decimal.Decimal `json:"other"`
		} `json:"lines"`
	} `json:"fiche_table"`
	Indicators []DocumentIndicator `json:"indicators"`
}

// DocumentIndicator is an indicator listed on a fiche, with its targets.
type DocumentIndicator struct {
	Code    string         `json:"code"`
	Scope   string         `json:"scope"`
	Label   string         `json:"label"`
	Unit    string         `json:"unit"`
	Method  string         `json:"method"`
	Params  map[string]any `json:"params"`
	Targets []struct {
		Year       int             `json:"year"`
		Value      decimal.Decimal `json:"value"`
		Comparator string          `json:"comparator"`
		Strict     bool            `json:"strict"`
		Note       string          `json:"note"`
		AsPrinted  string          `json:"as_printed"`
	} `json:"targets"`
}

// Convention2020 decodes the embedded 2020 document.
func Convention2020() (Document, error) {
	var doc Document
	dec := json.NewDecoder(bytes.NewReader(convention2020))
	if err := dec.Decode(&doc); err != nil {
		return doc, fmt.Errorf("decode the 2020 convention document: %w", err)
	}
	return doc, nil
}

// SeedReport says whether Seed loaded the document or found it already there.
type SeedReport struct {
	Loaded       bool
	Actions      int
	BudgetLines  int
	Indicators   int
	FundingLines int
}

// Seed loads doc into the database unless its convention is already there, in one
// transaction, recording one audit event for the load.
func Seed(ctx context.Context, db *gorm.DB, doc Document) (SeedReport, error) {
	var rep SeedReport
	err := services.WithTx(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
		var existing int64
		if err := tx.Model(&models.Convention{}).Where("departement = ? AND period_start = ?", doc.Departement, doc.Convention.PeriodStart).
			Count(&existing).Error; err != nil {
			return fmt.Errorf("look for the convention: %w", err)
		}
		if existing > 0 {
			return nil
		}
		if err := seedDocument(tx, doc, &rep); err != nil {
			return err
		}
		rep.Loaded = true
		return audit.Record(ctx, tx, audit.ActionCreate, "convention",
			fmt.Sprintf("%s/%d-%d", doc.Departement, doc.Convention.PeriodStart, doc.Convention.PeriodEnd))
	})
	return rep, err
}

func seedDocument(tx *gorm.DB, doc Document, rep *SeedReport) error {
	signed, err := parseDate(doc.Convention.SignedOn)
	if err != nil {
		return err
	}
	conv := models.Convention{Departement: doc.Departement, Name: doc.Convention.Name,
		PeriodStart: doc.Convention.PeriodStart, PeriodEnd: doc.Convention.PeriodEnd, SignedOn: signed}
	if err := tx.Create(&conv).Error; err != nil {
		return fmt.Errorf("insert convention: %w", err)
	}
	lastYear := 0
	for _, y := range doc.Years {
		state := y.StateSupport
		if !state.Valid {
			state = y.State
		}
		if !state.Valid {
			return fmt.Errorf("year %d: no State amount", y.Year)
		}
		cy := models.ConventionYear{Departement: doc.Departement, ConventionID: conv.ID, Year: y.Year,
			StateSupport: state.Decimal, DepartementSupport: y.Departement}
		if err := tx.Create(&cy).Error; err != nil {
			return fmt.Errorf("insert year %d: %w", y.Year, err)
		}
		for _, am := range y.Amendments {
			date, err := parseDate(am.Date)
			if err != nil {
				return err
			}
			row := models.Amendment{Departement: doc.Departement, ConventionID: conv.ID, Year: y.Year,
				Number: am.Number, SignedOn: date, Amount: am.Amount}
			if err := tx.Create(&row).Error; err != nil {
				return fmt.Errorf("insert amendment %d: %w", am.Number, err)
			}
		}
		lastYear = max(lastYear, y.Year)
	}

	// The funding lines, actions and indicators are those of the document's latest year.
	lineIDs := map[string]int64{}
	for i, f := range doc.FundingLines {
		row := models.FundingLine{Departement: doc.Departement, Year: lastYear, Chorus: f.Chorus, Label: f.Label,
			Theme: f.Theme, Prenotified: f.Prenotified, Carryover: f.Carryover, Position: i + 1, Version: 1}
		if err := tx.Omit("CreatedAt", "UpdatedAt").Create(&row).Error; err != nil {
			return fmt.Errorf("insert funding line %s: %w", f.Chorus, err)
		}
		lineIDs[f.Chorus] = row.ID
		rep.FundingLines++
	}
	position := 0
	for i, a := range doc.Actions {
		lineID, ok := lineIDs[a.FundingLine]
		if !ok {
			return fmt.Errorf("action %s: unknown funding line %q", a.Code, a.FundingLine)
		}
		row := models.Action{Departement: doc.Departement, Year: lastYear, Code: a.Code, Title: a.Title,
			Category: a.Category, FundingLineID: lineID, Budget: a.Budget, StateShare: a.StateShare,
			DepartementShare: a.DepartementShare, Valuation: a.Valuation, Carryover: a.Carryover,
			OtherFunders: a.OtherFunders, Position: i + 1, Version: 1}
		if t := a.FicheTable.PrintedTotal; t != nil {
			row.SheetAmount = decimal.NewNullDecimal(t.Amount)
			row.SheetState = decimal.NewNullDecimal(t.State)
			row.SheetDepartement = decimal.NewNullDecimal(t.Departement)
			row.SheetOther = decimal.NewNullDecimal(t.Other)
		}
		if err := tx.Omit("CreatedAt", "UpdatedAt").Create(&row).Error; err != nil {
			return fmt.Errorf("insert action %s: %w", a.Code, err)
		}
		rep.Actions++
		for j, l := range a.FicheTable.Lines {
			line := models.BudgetLine{Departement: doc.Departement, ActionID: row.ID, Label: l.Label, Amount: l.Amount,
				StateShare: l.State, DepartementShare: l.Departement, OtherShare: l.Other, Position: j + 1, Version: 1}
			if err := tx.Omit("CreatedAt", "UpdatedAt").Create(&line).Error; err != nil {
				return fmt.Errorf("insert budget line %q of %s: %w", l.Label, a.Code, err)
			}
			rep.BudgetLines++
		}
		for _, ind := range a.Indicators {
			position++
			if err := seedIndicator(tx, doc.Departement, a.Code, position, ind); err != nil {
				return err
			}
			rep.Indicators++
		}
	}
	return nil
}

func seedIndicator(tx *gorm.DB, departement, actionCode string, position int, ind DocumentIndicator) error {
	params := []byte("{}")
	if len(ind.Params) > 0 {
		var err error
		if params, err = json.Marshal(ind.Params); err != nil {
			return fmt.Errorf("indicator %s params: %w", ind.Code, err)
		}
	}
	row := models.Indicator{Departement: departement, Code: ind.Code, ActionCode: actionCode, Scope: ind.Scope,
		Label: ind.Label, Unit: ind.Unit, Method: ind.Method, Params: string(params), Position: position, Version: 1}
	if err := tx.Omit("CreatedAt", "UpdatedAt").Create(&row).Error; err != nil {
		return fmt.Errorf("insert indicator %s: %w", ind.Code, err)
	}
	for _, t := range ind.Targets {
		comparator := t.Comparator
		switch {
		case comparator == "": // "tendre à 100 %": a level to reach
			comparator = "gte"
		case t.Strict && comparator == "lte":
			comparator = "lt"
		case t.Strict && comparator == "gte":
			comparator = "gt"
		}
		notes := []string{}
		for _, n := range []string{t.AsPrinted, t.Note} {
			if n != "" {
				notes = append(notes, n)
			}
		}
		target := models.IndicatorTarget{Departement: departement, IndicatorID: row.ID, Year: t.Year, Value: t.Value,
			Comparator: comparator, Note: strings.Join(notes, " — ")}
		if err := tx.Create(&target).Error; err != nil {
			return fmt.Errorf("insert target %d of %s: %w", t.Year, ind.Code, err)
		}
	}
	return nil
}

func parseDate(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return d, errors.Join(fmt.Errorf("date %q", s), err)
	}
	return d, nil
}
