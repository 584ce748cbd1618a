package e2e

import "github.com/intentc/intentc/compiler"

// compileDir compiles one input directory with the real compiler; failed
// reports compile errors (diagnostics of error severity), diags their text.
func compileDir(dir string) (files []outFile, diags string, failed bool) {
	res, ds := compiler.Compile(compiler.Options{Paths: []string{dir}})
	if ds.HasErrors() {
		return nil, ds.Error(), true
	}
	for _, f := range res.Files {
		files = append(files, outFile{Path: f.Path, Data: f.Data})
	}
	return files, "", false
}
