package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
)

// writeGitHub prints one workflow command per finding:
//
//	::error file=F,line=L,col=C,title=T::message
//
// which GitHub Actions turns into an annotation on that line of the pull
// request's diff. Info findings are notices. Related positions are appended
// to the message, one per line, since an annotation has one location.
func writeGitHub(w io.Writer, diags diag.List) error {
	bw := bufio.NewWriter(w)
	for _, d := range diags {
		cmd := "notice"
		switch d.Severity {
		case diag.Error:
			cmd = "error"
		case diag.Warning:
			cmd = "warning"
		}
		var props []string
		if d.Pos.File != "" {
			props = append(props, "file="+escapeProperty(d.Pos.File))
			if d.Pos.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", d.Pos.Line))
				if d.Pos.Col > 0 {
					props = append(props, fmt.Sprintf("col=%d", d.Pos.Col))
				}
			}
		}
		title := string(d.Code)
		if info, ok := d.Code.Info(); ok {
			title += " " + info.Title
		}
		props = append(props, "title="+escapeProperty(title))
		msg := d.Message + " [" + string(d.Code) + "]"
		for _, r := range d.Related {
			msg += "\n" + r.Pos.String() + ": " + r.Message
		}
		fmt.Fprintf(bw, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg))
	}
	return bw.Flush()
}

// escapeData and escapeProperty escape as the Actions toolkit does
// (@actions/core's command.ts): a message may hold newlines, a property
// may not hold the separators ',' and ':' either.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
