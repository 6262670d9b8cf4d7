import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Loaded before every test file (npm test's --import): the tests talk to servers on 127.0.0.1, and
// imgpull honours HTTP_PROXY/HTTPS_PROXY/ALL_PROXY as curl does. A machine whose environment names
// a proxy (a CI runner behind one) would send the tests' requests to it; the tests that are about
// proxies set the variables they need themselves.
for (const name of ['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy']) {
  delete process.env[name]
  delete process.env[name.toUpperCase()]
}

// Colour is asked for by the environment (NO_COLOR, FORCE_COLOR): the tests read the CLI's plain
// words, and the one test about colour sets these itself.
delete process.env.NO_COLOR
delete process.env.FORCE_COLOR

// The command keeps V8's code cache in the user's cache folder (src/cli/code-cache.ts): the tests'
// thousands of runs keep theirs in one folder of the temporary folder instead, not in ~/.cache; the
// tests about that folder set XDG_CACHE_HOME themselves.
process.env.XDG_CACHE_HOME = join(tmpdir(), `imgpull-test-cache-${process.getuid?.() ?? 0}`)
