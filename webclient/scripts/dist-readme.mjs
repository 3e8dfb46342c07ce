// Leaves a note in dist/ after each build: the directory is committed and
// embedded by the Go package webclient (//go:embed all:dist), and with this
// file in it the embed pattern still matches when the build is removed, so
// the server compiles and explains how to build the client instead.
import { writeFileSync } from 'node:fs'

writeFileSync(
  new URL('../dist/README.txt', import.meta.url),
  'Built by `make webclient` (npm run build in webclient/). Committed so the Go build needs no Node;\n' +
    'embedded into maxbooster by the webclient package and served at /.\n',
)
