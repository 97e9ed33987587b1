package imports

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"parcours/services"
	"parcours/services/beneficiaries"
	"parcours/services/pii"
)

// Defaults of the optional columns for a beneficiary the file creates, when the column is
// absent or the cell empty.
const (
	defaultHouseholdSize       = 1
	defaultSubjectToRights     = true
	defaultIndependentWorker   = false
	defaultLeavingChildWelfare = false
)

// batch checks the rows of a file one by one and keeps those to write, as COPY rows.
type batch struct {
	header      header
	departement string
	cipher      *pii.Cipher
	today       time.Time
	territories map[string]bool

	read       int
	rows       [][]any // the valid rows, in copyColumns order
	rejections []Rejection
	keyLines   map[string]int // payer + allocataire number → first line
	nirLines   map[string]int // NIR hash → first line
}

func newBatch(h header, departement string, cipher *pii.Cipher, today time.Time, territories map[string]bool) *batch {
	return &batch{header: h, departement: departement, cipher: cipher, today: today, territories: territories,
		keyLines: map[string]int{}, nirLines: map[string]int{}}
}

// add checks the row at line: conversions, the API's rules (beneficiaries.Input.Normalize),
// the territory, and the same person twice in the file. A valid row is kept for the store.
func (b *batch) add(line int, rec []string) {
	b.read++
	var conv services.Validator
	in := b.header.input(&conv, rec)
	var rules services.Validator
	in.Normalize(&rules, true, b.today)
	errs := fieldErrors(services.MergeValidation(conv.Err(), rules.Err()))
	bad := map[string]bool{}
	for _, f := range errs {
		bad[f.Field] = true
	}
	if !bad["territory_code"] && !b.territories[*in.TerritoryCode] {
		errs = append(errs, services.FieldError{Field: "territory_code", Message: "no territory " + *in.TerritoryCode})
	}
	var nirHash []byte
	if in.NIR != nil && !bad["nir"] {
		nirHash = b.cipher.Hash(b.departement, *in.NIR)
	}
	if !bad["payer"] && !bad["allocataire_number"] {
		errs = append(errs, b.sameTwice(line, *in.Payer+"/"+*in.AllocataireNumber, nirHash)...)
	}
	if len(errs) > 0 {
		for _, f := range errs {
			b.rejections = append(b.rejections, Rejection{Line: line, Field: f.Field, Reason: f.Message})
		}
		return
	}
	b.rows = append(b.rows, b.copyRow(line, in, nirHash))
}

// sameTwice reports a key or a NIR already met on an earlier line of the file, and records
// them when they are new. The first line wins; later ones are rejected.
func (b *batch) sameTwice(line int, key string, nirHash []byte) []services.FieldError {
	if first, seen := b.keyLines[key]; seen {
		return []services.FieldError{{Field: "allocataire_number",
			Message: fmt.Sprintf("same payer and allocataire number as line %d", first)}}
	}
	b.keyLines[key] = line
	if nirHash == nil {
		return nil
	}
	if first, seen := b.nirLines[string(nirHash)]; seen {
		return []services.FieldError{{Field: "nir", Message: fmt.Sprintf("same NIR as line %d, another allocataire", first)}}
	}
	b.nirLines[string(nirHash)] = line
	return nil
}

// copyRow is a valid row in copyColumns order, with the defaults of the empty optional
// columns and the NIR sealed.
func (b *batch) copyRow(line int, in beneficiaries.Input, nirHash []byte) []any {
	var nirCiphertext any
	var nirHashValue any
	if nirHash != nil {
		nirCiphertext, nirHashValue = b.cipher.Seal(b.departement, *in.NIR), nirHash
	}
	return []any{
		int32(line), *in.Payer, *in.AllocataireNumber, *in.LastName, *in.FirstName, *in.BirthDate,
		nirCiphertext, nirHashValue, *in.TerritoryCode, valueOr(in.Commune, ""),
		int32(valueOr(in.HouseholdSize, defaultHouseholdSize)), *in.RightsOpenedOn,
		valueOr(in.SubjectToRightsAndDuties, defaultSubjectToRights), nullIfEmpty(in.Phone), nullIfEmpty(in.Email),
		valueOr(in.IndependentWorker, defaultIndependentWorker), valueOr(in.LeavingChildWelfare, defaultLeavingChildWelfare),
	}
}

// input converts a row to the API's input, recording in v the cells that do not convert.
// Optional columns absent from the file, empty dates, numbers, flags and NIRs are left nil.
func (h header) input(v *services.Validator, rec []string) beneficiaries.Input {
	return beneficiaries.Input{
		Payer:                    h.text(rec, colPayer),
		AllocataireNumber:        h.text(rec, colAllocataireNumber),
		LastName:                 h.text(rec, colLastName),
		FirstName:                h.text(rec, colFirstName),
		BirthDate:                parseCell(h, v, rec, colBirthDate, parseDate, dateMessage),
		NIR:                      h.nonEmpty(rec, colNIR),
		TerritoryCode:            h.text(rec, colTerritoryCode),
		Commune:                  h.text(rec, colCommune),
		HouseholdSize:            parseCell(h, v, rec, colHouseholdSize, strconv.Atoi, "must be a whole number"),
		RightsOpenedOn:           parseCell(h, v, rec, colRightsOpenedOn, parseDate, dateMessage),
		SubjectToRightsAndDuties: parseCell(h, v, rec, colSubjectToRightsAndDuties, parseBool, boolMessage),
		Phone:                    h.text(rec, colPhone),
		Email:                    h.text(rec, colEmail),
		IndependentWorker:        parseCell(h, v, rec, colIndependentWorker, parseBool, boolMessage),
		LeavingChildWelfare:      parseCell(h, v, rec, colLeavingChildWelfare, parseBool, boolMessage),
	}
}

// text is the cell of column col, "" when empty, nil when the file has no such column.
func (h header) text(rec []string, col int) *string {
	s, ok := h.cell(rec, col)
	if !ok {
		return nil
	}
	return &s
}

// nonEmpty is the cell of column col, nil when empty or when the file has no such column.
func (h header) nonEmpty(rec []string, col int) *string {
	if s, _ := h.cell(rec, col); s != "" {
		return &s
	}
	return nil
}

const (
	dateMessage = "must be a date such as 2020-09-25 or 25/09/2020"
	boolMessage = "must be 1 or 0, oui or non, true or false"
)

// parseCell converts the cell of column col with parse: nil when the column is absent or
// the cell empty; a failed conversion records message against the column in v.
func parseCell[T any](h header, v *services.Validator, rec []string, col int, parse func(string) (T, error), message string) *T {
	s, ok := h.cell(rec, col)
	if !ok || s == "" {
		return nil
	}
	value, err := parse(s)
	if err != nil {
		v.Check(false, columnNames[col], message)
		return nil
	}
	return &value
}

// parseDate reads YYYY-MM-DD or DD/MM/YYYY (day and month may have one digit).
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse("2/1/2006", s)
}

// parseBool reads 1/0, oui/non, true/false in any case.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "oui", "true":
		return true, nil
	case "0", "non", "false":
		return false, nil
	}
	return false, errors.New("not a flag")
}

func fieldErrors(err error) []services.FieldError {
	var ve *services.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}

func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func nullIfEmpty(s *string) any {
	if s == nil || *s == "" {
		return nil
	}
	return *s
}
