// Command testsummary reads `go test -json` on stdin, prints one line per
// package, the full output of every failing test, and a closing line
// "N passed, N failed, N skipped". It exits non-zero when anything failed,
// including a package that did not build.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	output := map[string]*strings.Builder{} // package/test -> output
	var passed, failed, skipped int
	var failures []string
	pkgFailed := false
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			// Build errors arrive as plain text.
			fmt.Println(string(line))
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			b := output[key]
			if b == nil {
				b = &strings.Builder{}
				output[key] = b
			}
			b.WriteString(e.Output)
			if e.Test == "" && (strings.HasPrefix(e.Output, "FAIL") || strings.Contains(e.Output, "[build failed]") || strings.Contains(e.Output, "[setup failed]")) {
				fmt.Print(e.Output)
			}
		case "build-output":
			fmt.Print(e.Output)
		case "pass":
			if e.Test != "" {
				passed++
			} else {
				fmt.Printf("ok    %s (%.1fs)\n", e.Package, e.Elapsed)
			}
			delete(output, key)
		case "skip":
			if e.Test != "" {
				skipped++
			} else {
				fmt.Printf("skip  %s (no tests)\n", e.Package)
			}
			delete(output, key)
		case "fail":
			if e.Test != "" {
				failed++
				failures = append(failures, key)
				if b := output[key]; b != nil {
					fmt.Printf("--- output of failed %s:\n%s", key, b.String())
				}
			} else {
				pkgFailed = true
				fmt.Printf("FAIL  %s (%.1fs)\n", e.Package, e.Elapsed)
				if b := output[key]; b != nil {
					fmt.Print(b.String())
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary: reading input:", err)
		os.Exit(2)
	}
	sort.Strings(failures)
	for _, f := range failures {
		fmt.Println("FAILED:", f)
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || pkgFailed {
		os.Exit(1)
	}
}
