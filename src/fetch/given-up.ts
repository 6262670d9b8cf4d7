// A host given up for the run (its files fail without a request): why, and after how many files of
// each kind of failure the scheduler does so. Silence and out of reach: host-silence.ts, out-of-reach.ts.

import type { ImgpullCode } from '../errors.js'

/** Why a host is given up for the run (see `Scheduler.givenUp`), and the code its files fail with. */
export interface GivenUp {
  code: ImgpullCode
  why: string
  /** `why` as the other processes sharing the gate are told it, when it reads otherwise there. */
  shared?: string
}

/**
 * A host is given up for a wait it asks again (see `Scheduler.overlong`) only once this many
 * files in a row were asked it: a CDN that rate-limits one hot path, or two, with a day's
 * Retry-After serves the others, and giving it up on one path's retry (at --per-host 1, or once
 * its limit fell to one) lost all of them. A host whose quota is spent asks it of every file.
 */
export const OVERLONG_FILES = 3

/** Files of one host that fail `tls`, none answered, before it is given up for the run (see `Scheduler.tlsRefused`). */
export const TLS_FILES = 3

/**
 * Files of one host that spent their retries on connections it turned away (reset or closed before
 * any answer), none answered, before it is given up for the run (see `Scheduler.turnedAway`): a
 * WAF or firewall that resets every connection of this client (webperf_core#1470: at its TLS
 * ClientHello) does so to each file's every attempt. More than one file, as a host that resets
 * some paths alone (a WAF rule, waf-resets.test.ts) serves the others meanwhile.
 */
export const RESET_FILES = 3

/**
 * Files of one host whose bodies trickled in past their `--total-timeout`, none served, before it is
 * given up for the run (see `Scheduler.trickled`). Fewer than `SILENT_AFTER`, with no later request
 * asked for: each already spent its whole total timeout (600 s by default, its retries included)
 * on a body that kept coming without ending, no cold start, and its host's limit never falls for
 * it, so each further round of 16 files costs that again.
 */
export const TRICKLE_FILES = 3
