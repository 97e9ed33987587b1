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

// checked is what a worker makes of one row: the rules it breaks on its own, and what the
// same-person check (sink.sameTwice) and the COPY need.
type checked struct {
	line    int
	errs    []services.FieldError // conversions, the API's rules, the territory
	keyed   bool                  // payer and allocataire number are valid: key is the row's
	key     string                // payer/allocataire number
	nirHash []byte                // nil without a valid NIR
	// When errs is empty: the birth date, and the row's COPY tuple in chunk.tuples.
	birthDate time.Time
	tuple     [2]int
}

// checker checks rows one by one; each worker has its own.
type checker struct {
	header      header
	width       int
	departement string
	cipher      *pii.Cipher
	hasher      *pii.Hasher
	today       time.Time
	territories map[string]bool
}

// chunk checks the rows of c, and encodes the valid ones.
func (k *checker) chunk(c *chunk) {
	c.rows = make([]checked, len(c.lines))
	for i, line := range c.lines {
		c.rows[i], c.tuples = k.row(line, c.cells[i*k.width:(i+1)*k.width], c.tuples)
	}
}

// row checks the row at line: conversions, the API's rules (beneficiaries.Input.Normalize)
// and the territory. A valid row's COPY tuple is appended to tuples, with the defaults of
// the empty optional columns and the NIR sealed.
func (k *checker) row(line int, rec []string, tuples []byte) (checked, []byte) {
	var conv services.Validator
	in := k.header.input(&conv, rec)
	var rules services.Validator
	in.Normalize(&rules, true, k.today)
	errs := fieldErrors(services.MergeValidation(conv.Err(), rules.Err()))
	r := checked{line: line, keyed: !hasField(errs, "payer") && !hasField(errs, "allocataire_number")}
	if r.keyed {
		r.key = *in.Payer + "/" + *in.AllocataireNumber
	}
	if in.NIR != nil && !hasField(errs, "nir") {
		r.nirHash = k.hasher.AppendHash(nil, k.departement, *in.NIR)
	}
	if !hasField(errs, "territory_code") && !k.territories[*in.TerritoryCode] {
		errs = append(errs, services.FieldError{Field: "territory_code", Message: "no territory " + *in.TerritoryCode})
	}
	r.errs = errs
	if len(errs) == 0 {
		r.birthDate = *in.BirthDate
		start := len(tuples)
		tuples = k.tuple(tuples, in, r.nirHash)
		r.tuple = [2]int{start, len(tuples)}
	}
	return r, tuples
}

// tuple appends the COPY tuple of a valid row, in copyColumns order.
func (k *checker) tuple(b []byte, in beneficiaries.Input, nirHash []byte) []byte {
	t := startTuple(b, len(copyColumns)).text(*in.Payer).text(*in.AllocataireNumber).
		text(*in.LastName).text(*in.FirstName).date(*in.BirthDate)
	if nirHash != nil {
		t = t.sized(func(b []byte) []byte { return k.cipher.AppendSeal(b, k.departement, *in.NIR) }).field(nirHash)
	} else {
		t = t.null().null()
	}
	return t.text(*in.TerritoryCode).text(valueOr(in.Commune, "")).
		int4(int32(valueOr(in.HouseholdSize, defaultHouseholdSize))).date(*in.RightsOpenedOn).
		boolean(valueOr(in.SubjectToRightsAndDuties, defaultSubjectToRights)).
		nullableText(valueOr(in.Phone, "")).nullableText(valueOr(in.Email, "")).
		boolean(valueOr(in.IndependentWorker, defaultIndependentWorker)).
		boolean(valueOr(in.LeavingChildWelfare, defaultLeavingChildWelfare))
}

// sink takes the checked rows in file order: it rejects the same person met twice in the
// file (the first line wins, later ones are rejected) and the rows that contradict a
// recorded beneficiary, adds the valid rows to the batches, and counts.
type sink struct {
	known      *known
	read       int // rows read
	valid      int // rows batched
	rejections []Rejection
	keyLines   map[string]int // payer + allocataire number → first line
	nirLines   map[string]int // NIR hash → first line
	refusal    error          // why the file is refused, when it turned out malformed
}

func newSink(k *known) *sink {
	return &sink{known: k, keyLines: map[string]int{}, nirLines: map[string]int{}}
}

// take accounts for the rows of c and adds the valid ones to b: the new beneficiaries to
// its inserts, the rows of recorded ones to its changes.
func (s *sink) take(c *chunk, b *batch) {
	for _, r := range c.rows {
		s.read++
		errs := r.errs
		if r.keyed {
			errs = append(errs, s.sameTwice(r.line, r.key, r.nirHash)...)
		}
		var id int64
		if len(errs) == 0 {
			id, errs = s.known.check(r)
		}
		if len(errs) > 0 {
			for _, f := range errs {
				s.rejections = append(s.rejections, Rejection{Line: r.line, Field: f.Field, Reason: f.Message})
			}
			continue
		}
		s.valid++
		tuple := c.tuples[r.tuple[0]:r.tuple[1]]
		if id == 0 {
			b.inserts.add(tuple)
		} else {
			b.changes.addWithID(tuple, id)
		}
	}
}

// report adds up what the sink rejected and what the store did.
func (s *sink) report(st stored) Report {
	lines := map[int]bool{}
	for _, r := range s.rejections {
		lines[r.Line] = true
	}
	return Report{
		RowsRead:   s.read,
		Created:    st.created,
		Updated:    st.updated,
		Unchanged:  s.valid - st.created - st.updated,
		Rejected:   len(lines),
		Rejections: s.rejections,
	}
}

// sameTwice reports a key or a NIR already met on an earlier line of the file, and records
// them when they are new.
func (s *sink) sameTwice(line int, key string, nirHash []byte) []services.FieldError {
	if first, seen := s.keyLines[key]; seen {
		return []services.FieldError{{Field: "allocataire_number",
			Message: fmt.Sprintf("same payer and allocataire number as line %d", first)}}
	}
	s.keyLines[key] = line
	if nirHash == nil {
		return nil
	}
	if first, seen := s.nirLines[string(nirHash)]; seen {
		return []services.FieldError{{Field: "nir", Message: fmt.Sprintf("same NIR as line %d, another allocataire", first)}}
	}
	s.nirLines[string(nirHash)] = line
	return nil
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

// hasField reports whether errs holds an error on field.
func hasField(errs []services.FieldError, field string) bool {
	for _, f := range errs {
		if f.Field == field {
			return true
		}
	}
	return false
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
