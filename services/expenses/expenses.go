// Package expenses is the expense ledger of the fiches actions: commitments (engagements) and
// payments (mandats), each attributed to one funder or split across the State, the
// département, the 2019 carry-over and other funders to the cent. The ledger is append-only:
// a correction is a reversing entry, never an update or a delete (the database refuses both).
//
// Coverage rule: after every entry, on each fiche action of a year, the payments (net of
// reversals) must not exceed the commitments (net of reversals); and on each budget line, the
// payments recorded on that line must not exceed the commitments recorded on that line. A
// payment that would break it is refused (a *services.ValidationError on amount), and so is
// the reversal of a commitment the payments still need (services.ErrConflict). Entry dates do
// not enter the rule: it holds on the totals of the fiche's ledger whatever their dates.
package expenses

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
)

// Shares is an amount's split across funders; the four add up to the amount.
type Shares struct {
	State       decimal.Decimal
	Departement decimal.Decimal
	Carryover   decimal.Decimal
	Other       decimal.Decimal
}

// Expense is one ledger entry.
type Expense struct {
	ID           int64
	ActionCode   string
	Year         int // the fiche's year, the year of Date
	BudgetLineID *int64
	Kind         string
	Amount       decimal.Decimal // negative on a reversing entry
	Date         time.Time
	Supplier     string
	Reference    string
	Funder       *string // the funder the whole amount was attributed to; nil when split
	Shares       Shares
	ReversesID   *int64
	CreatedAt    time.Time
}

// Filter selects entries of the ledger: of one fiche code (any year), dated from From to To
// included, one keyset page by id.
type Filter struct {
	ActionCode string
	From, To   *time.Time
	Page       services.PageRequest
}

// Service keeps the ledger of the caller's département.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns an expense ledger over db.
func New(db *gorm.DB) *Service { return &Service{db: db, now: time.Now} }

// caller returns the principal when it has one of roles, else services.ErrForbidden.
func caller(ctx context.Context, what string, roles ...auth.Role) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return p, err
	}
	if !p.HasRole(roles...) {
		return p, fmt.Errorf("%s: %w", what, services.ErrForbidden)
	}
	return p, nil
}

// Create records a commitment or a payment of in.Amount on fiche in.ActionCode of the year of
// in.Date (administrators only). An unknown fiche or budget line, a line of another fiche, a
// payment beyond the commitments (see the package comment) or nothing to split by is a
// *services.ValidationError naming the field; nothing is written then.
func (s *Service) Create(ctx context.Context, in Input) (Expense, error) {
	return s.record(ctx, "record an expense", in.check, func(tx *gorm.DB, p auth.Principal) (entry, error) {
		f, err := lockFiche(tx, p.Departement, *in.ActionCode, in.Date.Year())
		if err != nil {
			return entry{}, err
		}
		weights := f.weights()
		if in.BudgetLineID != nil {
			if weights, err = lineWeights(tx, p.Departement, *in.BudgetLineID, f); err != nil {
				return entry{}, err
			}
		}
		shares, err := attribute(*in.Amount, in.Funder, weights)
		if err != nil {
			return entry{}, err
		}
		row := models.Expense{Departement: p.Departement, ActionID: f.ID, BudgetLineID: in.BudgetLineID, Kind: *in.Kind,
			Amount: *in.Amount, EntryDate: *in.Date, Supplier: *trimmed(in.Supplier), Reference: *trimmed(in.Reference), Funder: in.Funder}
		setShares(&row, shares)
		return entry{row: row, fiche: f, subject: "expense", recheck: KindPayment, refuse: paymentRefused}, nil
	})
}

// Reverse records the reversing entry of entry id (administrators only): the same fiche,
// line, kind, funder and supplier, the amounts negated, ReversesID = id, dated in.Date (the
// reversed entry's date by default; not before it, in its year, not after today) with
// in.Reference (the reversed entry's by default). Reversing a reversal, or an entry already
// reversed, is a services.ErrConflict; so is reversing a commitment the payments still need.
func (s *Service) Reverse(ctx context.Context, id int64, in ReverseInput) (Expense, error) {
	return s.record(ctx, "reverse an expense", in.check, func(tx *gorm.DB, p auth.Principal) (entry, error) {
		original, f, err := lockEntry(tx, p.Departement, id)
		if err != nil {
			return entry{}, err
		}
		row, err := reversal(original, in)
		if err != nil {
			return entry{}, err
		}
		return entry{row: row, fiche: f, subject: "the reversal of expense " + strconv.FormatInt(id, 10),
			recheck: KindCommitment, refuse: reversalRefused}, nil
	})
}

// entry is a ledger row about to be written, with its fiche, and the kind of entry after
// which the coverage rule is checked again (how a refusal then answers: refuse).
type entry struct {
	row     models.Expense
	fiche   fiche
	subject string
	recheck string
	refuse  refusal
}

// record writes the entry prepare makes (under the lock of its fiche) for an administrator,
// once check found nothing wrong with the input; it audits the entry and checks the coverage
// rule after it, all in one transaction.
func (s *Service) record(ctx context.Context, what string, check func(*services.Validator, time.Time),
	prepare func(tx *gorm.DB, p auth.Principal) (entry, error)) (Expense, error) {
	if _, err := caller(ctx, what, auth.RoleAdmin); err != nil {
		return Expense{}, err
	}
	var v services.Validator
	check(&v, today(s.now()))
	if err := v.Err(); err != nil {
		return Expense{}, err
	}
	var out Expense
	err := services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		p, err := services.Caller(ctx)
		if err != nil {
			return err
		}
		e, err := prepare(tx, p)
		if err != nil {
			return err
		}
		if err := services.Insert(ctx, tx, &e.row, &e.row.ID, "expense", e.subject); err != nil {
			return err
		}
		if e.row.Kind == e.recheck {
			if err := checkCovered(tx, e.fiche, e.row.BudgetLineID, e.refuse); err != nil {
				return err
			}
		}
		out = present(e.row, e.fiche)
		return nil
	})
	return out, err
}

// reversal is the entry that reverses original, or why there can be none.
func reversal(original models.Expense, in ReverseInput) (models.Expense, error) {
	if original.ReversesID != nil {
		return models.Expense{}, fmt.Errorf("expense %d reverses expense %d; a reversal is never reversed, record a new entry instead: %w",
			original.ID, *original.ReversesID, services.ErrConflict)
	}
	date := original.EntryDate
	services.Set(&date, in.Date)
	var v services.Validator
	v.Check(!date.Before(original.EntryDate), "date", "must not be before the date of the reversed entry, "+original.EntryDate.Format(time.DateOnly))
	v.Check(date.Year() == original.EntryDate.Year(), "date", fmt.Sprintf("must be in %d, the year of the reversed entry", original.EntryDate.Year()))
	if err := v.Err(); err != nil {
		return models.Expense{}, err
	}
	row := original
	row.ID, row.CreatedAt, row.EntryDate, row.ReversesID = 0, time.Time{}, date, &original.ID
	row.Amount = original.Amount.Neg()
	row.StateShare, row.DepartementShare = original.StateShare.Neg(), original.DepartementShare.Neg()
	row.CarryoverShare, row.OtherShare = original.CarryoverShare.Neg(), original.OtherShare.Neg()
	if in.Reference != nil {
		row.Reference = *trimmed(in.Reference)
	}
	return row, nil
}

// List returns one page of the ledger, by id (administrators and managers).
func (s *Service) List(ctx context.Context, f Filter) (services.Page[Expense], error) {
	p, err := caller(ctx, "read the expense ledger", auth.RoleAdmin, auth.RoleManager)
	if err != nil {
		return services.Page[Expense]{}, err
	}
	var v services.Validator
	after := services.AfterID(&v, f.Page)
	if err := v.Err(); err != nil {
		return services.Page[Expense]{}, err
	}
	q := ledger(services.Conn(ctx, s.db), p.Departement, f).Where("e.id > ?", after)
	var rows []listedRow
	if err := q.Order("e.id").Limit(f.Page.Limit + 1).Scan(&rows).Error; err != nil {
		return services.Page[Expense]{}, fmt.Errorf("list expenses: %w", err)
	}
	items := make([]Expense, len(rows))
	for i, r := range rows {
		items[i] = present(r.Expense, fiche{ID: r.ActionID, Code: r.ActionCode, Year: r.Year})
	}
	return services.PageOf(items, f.Page.Limit, func(e Expense) []string { return []string{strconv.FormatInt(e.ID, 10)} }), nil
}

// listedRow is a ledger row with its fiche.
type listedRow struct {
	models.Expense
	ActionCode string
	Year       int
}

func present(r models.Expense, f fiche) Expense {
	return Expense{ID: r.ID, ActionCode: f.Code, Year: f.Year, BudgetLineID: r.BudgetLineID, Kind: r.Kind, Amount: r.Amount,
		Date: r.EntryDate, Supplier: r.Supplier, Reference: r.Reference, Funder: r.Funder,
		Shares:     Shares{State: r.StateShare, Departement: r.DepartementShare, Carryover: r.CarryoverShare, Other: r.OtherShare},
		ReversesID: r.ReversesID, CreatedAt: r.CreatedAt}
}

func setShares(r *models.Expense, s Shares) {
	r.StateShare, r.DepartementShare, r.CarryoverShare, r.OtherShare = s.State, s.Departement, s.Carryover, s.Other
}

// errNotFound wraps services.ErrNotFound about subject.
func errNotFound(subject string) error { return fmt.Errorf("%s: %w", subject, services.ErrNotFound) }

// isNotFound reports whether a storage error is a missing row.
func isNotFound(err error) bool { return errors.Is(models.Translate(err), models.ErrNotFound) }
