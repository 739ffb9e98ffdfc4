package mrkdwn

import (
	"strings"

	east "github.com/yuin/goldmark/extension/ast"
)

// Column separators of a table drawn in a code block.
const (
	cellSeparator = " | "
	ruleSeparator = "-|-"
)

// table writes a table as a code block with aligned columns, because mrkdwn has no
// tables. Cells lose their formatting, and links show their destination.
func (r *renderer) table(t *east.Table, c blockCtx) bool {
	columns := len(t.Alignments)
	var rows [][]string
	for row := t.FirstChild(); row != nil; row = row.NextSibling() {
		cells := make([]string, columns)
		i := 0
		for cell := row.FirstChild(); cell != nil && i < columns; cell = cell.NextSibling() {
			cells[i] = plainText(r.src, cell, true)
			i++
		}
		rows = append(rows, cells)
	}
	if columns == 0 || len(rows) == 0 {
		return false
	}

	widths := make([]int, columns)
	for _, cells := range rows {
		for i, cell := range cells {
			widths[i] = max(widths[i], displayWidth(cell), 1)
		}
	}

	var b strings.Builder
	for i, cells := range rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeRow(&b, cells, widths, t.Alignments)
		if i == 0 {
			b.WriteByte('\n')
			writeRule(&b, widths)
		}
	}
	return r.codeContent([]byte(b.String()), c)
}

// writeRow writes one row, each cell padded to its column's width and alignment, with
// no trailing spaces.
func writeRow(b *strings.Builder, cells []string, widths []int, align []east.Alignment) {
	last := len(cells) - 1
	for last > 0 && cells[last] == "" {
		last--
	}
	var line strings.Builder
	for i, cell := range cells[:last+1] {
		if i > 0 {
			line.WriteString(cellSeparator)
		}
		pad := widths[i] - displayWidth(cell)
		left := 0
		switch align[i] {
		case east.AlignRight:
			left = pad
		case east.AlignCenter:
			left = pad / 2
		}
		line.WriteString(strings.Repeat(" ", left))
		line.WriteString(cell)
		line.WriteString(strings.Repeat(" ", pad-left))
	}
	b.WriteString(strings.TrimRight(line.String(), " "))
}

func writeRule(b *strings.Builder, widths []int) {
	for i, w := range widths {
		if i > 0 {
			b.WriteString(ruleSeparator)
		}
		b.WriteString(strings.Repeat("-", w))
	}
}
