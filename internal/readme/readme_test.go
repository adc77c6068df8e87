package readme

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var snippetRE = regexp.MustCompile("(?s)<!-- snippet: (\\S+) -->\\s*```go\n(.*?)```")

// normalize drops indentation, a leading "//" (for snippets taken from doc
// comments) and blank lines, so a snippet matches its source however deeply
// the source indents it.
func normalize(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "//\t") || line == "//" {
			line = strings.TrimSpace(strings.TrimPrefix(line, "//"))
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// contains reports whether want appears as consecutive lines of have.
func contains(have, want []string) bool {
	for i := 0; i+len(want) <= len(have); i++ {
		match := true
		for j := range want {
			if have[i+j] != want[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func TestREADMESnippetsComeFromCompiledExamples(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := snippetRE.FindAllStringSubmatch(string(readme), -1)
	if len(found) < 6 {
		t.Fatalf("found %d marked snippets in README.md, want at least 6", len(found))
	}
	for _, m := range found {
		path, snippet := m[1], m[2]
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
		if err != nil {
			t.Errorf("snippet source %s: %v", path, err)
			continue
		}
		if !contains(normalize(string(src)), normalize(snippet)) {
			t.Errorf("README.md's snippet from %s no longer matches that file; copy it again:\n%s", path, snippet)
		}
	}
	if n := strings.Count(string(readme), "```go"); n != len(found) {
		t.Errorf("README.md has %d Go blocks but %d are marked with their source", n, len(found))
	}
}

// TestNoCitationsOutsideTheRepository is the regression test of issue 11
// item 11: comments cited a protocol notes file by section, and "the
// seed", documents that are not in the repository. The repository must stand on its own: cite
// WeChat's documentation by URL, or say what is needed in package docs.
func TestNoCitationsOutsideTheRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	// Built from parts, so that this line does not match itself.
	outside := regexp.MustCompile(`protocol` + `\.md|design` + `\.md|` + "\u00a7" + `|\bthe ` + `seed\b|seed` + `'s|shared` + `/docs`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if outside.MatchString(line) {
				t.Errorf("%s:%d cites a document outside the repository: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
