import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ERROR_CODES, type ErrorCode } from '../src/error-codes.js'
import { FATAL_CODES, type FatalCode, type ImgpullCode, ImgpullError } from '../src/errors.js'

// `ImgpullError.code` was typed `string`: a code no table names (a slip, `'timed-out'` for
// `timeout`) went into results and the manifest unnoticed. It is the `ImgpullCode` union now; the
// type check (`tsc -p tsconfig.check.json`, run by CI over the tests) holds the lines below.
test('ImgpullError takes the codes the tables name, and a code they do not is a type error', () => {
  for (const code of [...Object.keys(ERROR_CODES), ...Object.keys(FATAL_CODES)] as (ErrorCode | FatalCode)[])
    assert.equal(new ImgpullError(code, 'm').code, code)
  const http: ImgpullCode = 'http-404'
  assert.equal(new ImgpullError(http, 'm').code, 'http-404')
  // @ts-expect-error a code no table names
  assert.equal(new ImgpullError('timed-out', 'm').code, 'timed-out')
  const known = (e: ImgpullError): boolean =>
    // @ts-expect-error a comparison with a code no table names can never hold
    e.code === 'timed-out'
  assert.equal(known(new ImgpullError('timeout', 'm')), false)
})
