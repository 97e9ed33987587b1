package export

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"parcours/services/budget"
)

// sheetName is the only sheet of the workbook.
const sheetName = "Annexe 3"

// euroFormat is the number format of money cells: thousands separator, two decimals, euro sign.
const euroFormat = `#,##0.00\ "€"`

// Rows of the sheet, 1-based: the title, the header, then the table.
const (
	titleRow  = 1
	headerRow = 2
	firstRow  = 3
)

// columnWidths are the widths of columns A to K, in characters.
var columnWidths = [columnCount]float64{28, 38, 8, 46, 15, 15, 15, 15, 15, 15, 15}

// styles are the cell style ids of the workbook, by row kind.
type styles struct {
	title, header      int
	text, wrappedText  [3]int // by rowKind
	moneyCell          [3]int // by rowKind
	totalTopBorderText int
}

// WriteXLSX writes the Annexe 3 table of y to w as an XLSX workbook with one sheet, "Annexe 3":
// a title row, the header row (bold, wrapped, frozen), then the table. Money cells are numbers
// with a euro number format; subtotal rows are bold and the grand total is bold under a border.
func WriteXLSX(w io.Writer, y budget.Year) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := fillWorkbook(f, y); err != nil {
		return fmt.Errorf("annexe 3 xlsx: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("annexe 3 xlsx: %w", err)
	}
	return nil
}

func fillWorkbook(f *excelize.File, y budget.Year) error {
	if err := f.SetSheetName(f.GetSheetName(0), sheetName); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}

	title := fmt.Sprintf("Annexe 3 — Tableau financier récapitulatif %d, département %s", y.Year, y.Departement)
	if err := f.SetCellStr(sheetName, cellName(0, titleRow), title); err != nil {
		return err
	}
	if err := f.MergeCell(sheetName, cellName(0, titleRow), cellName(columnCount-1, titleRow)); err != nil {
		return err
	}
	if err := f.SetCellStyle(sheetName, cellName(0, titleRow), cellName(columnCount-1, titleRow), st.title); err != nil {
		return err
	}
	if err := f.SetRowHeight(sheetName, titleRow, 22); err != nil {
		return err
	}

	for i, h := range header(y) {
		if err := f.SetCellStr(sheetName, cellName(i, headerRow), h); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(sheetName, cellName(0, headerRow), cellName(columnCount-1, headerRow), st.header); err != nil {
		return err
	}
	if err := f.SetRowHeight(sheetName, headerRow, 32); err != nil {
		return err
	}

	for i, r := range rows(y) {
		n := firstRow + i
		for c, s := range r.text {
			if s == "" {
				continue
			}
			if err := f.SetCellStr(sheetName, cellName(c, n), s); err != nil {
				return err
			}
		}
		for c, m := range r.money {
			if !m.Valid {
				continue
			}
			// The one place a float appears: Excel stores numbers as IEEE doubles.
			if err := f.SetCellFloat(sheetName, cellName(textColumns+c, n), m.Decimal.InexactFloat64(), -1, 64); err != nil {
				return err
			}
		}
		textStyle, titleStyle := st.text[r.kind], st.wrappedText[r.kind]
		if r.kind == totalRow {
			textStyle, titleStyle = st.totalTopBorderText, st.totalTopBorderText
		}
		if err := f.SetCellStyle(sheetName, cellName(0, n), cellName(colCode, n), textStyle); err != nil {
			return err
		}
		if err := f.SetCellStyle(sheetName, cellName(colTitle, n), cellName(colTitle, n), titleStyle); err != nil {
			return err
		}
		if err := f.SetCellStyle(sheetName, cellName(textColumns, n), cellName(columnCount-1, n), st.moneyCell[r.kind]); err != nil {
			return err
		}
	}

	for c, width := range columnWidths {
		name, _ := excelize.ColumnNumberToName(c + 1)
		if err := f.SetColWidth(sheetName, name, name, width); err != nil {
			return err
		}
	}
	if err := f.SetPanes(sheetName, &excelize.Panes{
		Freeze:      true,
		YSplit:      headerRow,
		TopLeftCell: cellName(0, firstRow),
		ActivePane:  "bottomLeft",
		Selection:   []excelize.Selection{{SQRef: cellName(0, firstRow), ActiveCell: cellName(0, firstRow), Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}

	// Printing: landscape, one page wide, title and header repeated on every page.
	landscape, one, unbounded, fit := "landscape", 1, 0, true
	if err := f.SetSheetProps(sheetName, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	if err := f.SetPageLayout(sheetName, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &one, FitToHeight: &unbounded}); err != nil {
		return err
	}
	if err := f.SetDefinedName(&excelize.DefinedName{
		Name:     "_xlnm.Print_Titles",
		RefersTo: fmt.Sprintf("'%s'!$%d:$%d", sheetName, titleRow, headerRow),
		Scope:    sheetName,
	}); err != nil {
		return err
	}
	return f.SetDocProps(&excelize.DocProperties{
		Title:    title,
		Creator:  "Parcours",
		Language: "fr-FR",
	})
}

func newStyles(f *excelize.File) (styles, error) {
	var st styles
	format := euroFormat
	topBorder := []excelize.Border{{Type: "top", Color: "000000", Style: 2}}
	defs := []struct {
		dst   *int
		style excelize.Style
	}{
		{&st.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}}},
		{&st.header, excelize.Style{
			Font:      &excelize.Font{Bold: true},
			Alignment: &excelize.Alignment{WrapText: true, Vertical: "center", Horizontal: "center"},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
			Border:    []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}},
		}},
		{&st.text[actionRow], excelize.Style{Alignment: &excelize.Alignment{Vertical: "top"}}},
		{&st.wrappedText[actionRow], excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}}},
		{&st.moneyCell[actionRow], excelize.Style{CustomNumFmt: &format, Alignment: &excelize.Alignment{Vertical: "top"}}},
		{&st.text[subtotalRow], excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Vertical: "top"}}},
		{&st.wrappedText[subtotalRow], excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}}},
		{&st.moneyCell[subtotalRow], excelize.Style{CustomNumFmt: &format, Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Vertical: "top"}}},
		{&st.totalTopBorderText, excelize.Style{Font: &excelize.Font{Bold: true}, Border: topBorder}},
		{&st.moneyCell[totalRow], excelize.Style{CustomNumFmt: &format, Font: &excelize.Font{Bold: true}, Border: topBorder}},
	}
	for _, d := range defs {
		id, err := f.NewStyle(&d.style)
		if err != nil {
			return st, err
		}
		*d.dst = id
	}
	st.text[totalRow], st.wrappedText[totalRow] = st.totalTopBorderText, st.totalTopBorderText
	return st, nil
}

// cellName is the A1 reference of the 0-based column col in the 1-based row.
func cellName(col, row int) string {
	name, err := excelize.CoordinatesToCellName(col+1, row)
	if err != nil {
		panic(err) // col and row come from constants and slice indexes: always valid
	}
	return name
}
