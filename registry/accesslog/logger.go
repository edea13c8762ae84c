package accesslog

import (
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"
)

// New returns the registry's logger: format "json" or "text" (aligned,
// colored only on a terminal), level as logrus names them.
func New(out io.Writer, level, format string) (*logrus.Logger, error) {
	l := logrus.New()
	l.SetOutput(out)
	if f, ok := out.(*os.File); ok {
		l.SetOutput(newBufferedOut(f)) // batched writes; Flush on shutdown
	}
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	l.SetLevel(lv)
	switch format {
	case "json":
		l.SetFormatter(jsonFormatter{})
	case "text", "":
		tty := false
		if f, ok := out.(*os.File); ok {
			if st, err := f.Stat(); err == nil {
				tty = st.Mode()&os.ModeCharDevice != 0
			}
		}
		l.SetFormatter(textFormatter{color: tty})
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return l, nil
}
