package batch_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
)

// BenchmarkScore scores inputs of growing size. Rows stream through: the
// allocations per row (allocs/op and B/op divided by rows) stay the same
// from a thousand rows to a hundred thousand, and none of them outlive
// their row. Run with go test -bench Score -benchmem ./internal/controlplane/batch.
func BenchmarkScore(b *testing.B) {
	for _, rows := range []int{1000, 100000} {
		for _, format := range []string{"csv", "jsonl"} {
			b.Run(fmt.Sprintf("%s/%d", format, rows), func(b *testing.B) {
				var sb strings.Builder
				if format == "csv" {
					sb.WriteString("a,b\n")
				}
				for i := range rows {
					if format == "csv" {
						fmt.Fprintf(&sb, "%d,%d.5\n", i, i%97)
					} else {
						fmt.Fprintf(&sb, "{\"inputs\": [%d, %d.5]}\n", i, i%97)
					}
				}
				dir := b.TempDir()
				in := writeFile(b, dir, "in."+format, sb.String())
				p := writeFile(b, dir, "model.json", modelJSON)
				o := batch.Options{ArtifactURI: batch.FileURI(p), Input: in, Output: filepath.Join(dir, "out")}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := batch.Score(b.Context(), o); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows), "rows")
			})
		}
	}
}
