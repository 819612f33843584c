package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printTable writes rows under headers, aligned with tabs as kubectl does.
func printTable(w io.Writer, headers []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, r := range rows {
		clean := make([]string, len(r))
		for i, c := range r {
			// A cell never breaks the table.
			clean[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(clean, "\t"))
	}
	return tw.Flush()
}

// printRawJSON writes JSON as mlopsd sent it, indented; the content is
// unchanged.
func printRawJSON(w io.Writer, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("mlopsd sent JSON that does not parse: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// printJSON encodes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// decodeObject decodes raw into generic JSON, numbers kept as written.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding an object from mlopsd: %w", err)
	}
	return m, nil
}

// objectRows turns objects of kind k into table rows.
func objectRows(k kindInfo, raws []json.RawMessage) ([]string, [][]string, error) {
	headers := []string{"NAME"}
	for _, c := range k.columns {
		headers = append(headers, c.header)
	}
	headers = append(headers, "PHASE")
	rows := make([][]string, 0, len(raws))
	for _, raw := range raws {
		obj, err := decodeObject(raw)
		if err != nil {
			return nil, nil, err
		}
		row := []string{format(lookup(obj, "metadata.name"))}
		for _, c := range k.columns {
			row = append(row, c.cell(obj))
		}
		row = append(row, format(lookup(obj, "status.phase")))
		rows = append(rows, row)
	}
	return headers, rows, nil
}
