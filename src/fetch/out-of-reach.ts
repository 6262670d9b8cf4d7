// When a file's failure says its host is out of reach: the words the scheduler gives such a host
// up with (see `Scheduler.outOfReach`), kept apart from its state.

/**
 * Connect failures that say a host is out of reach, in words (see `Scheduler.outOfReach`): no
 * answer could come from it, whatever was asked.
 */
export const OUT_OF_REACH: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'nothing listens on its port',
  EHOSTUNREACH: 'no route to it',
  ENETUNREACH: 'no route to its network',
  // A name whose DNS servers are down or broken (SERVFAIL, RFC 2308 §7.1) or that none answers:
  // each file looked it up again at each of its retries (100 files, 1,552 queries and 14 s).
  EAI_AGAIN: 'DNS gave its name no address at any attempt',
}

/**
 * A SOCKS5 proxy's replies (RFC 1928 §6) that say the host is out of reach from it, in words: as
 * definite as the connect failures of `OUT_OF_REACH`, the proxy having tried the host itself. (An
 * HTTP proxy's 502/503/504 to a CONNECT is not: Squid answers 503 both for a refused connection
 * and for its own overload, so one host's failures through it say nothing of the host alone.)
 */
export const SOCKS_OUT_OF_REACH: Readonly<Record<string, string>> = {
  UND_ERR_SOCKS5_REPLY_5: 'the proxy found nothing listening on its port (SOCKS5 reply 5)',
  UND_ERR_SOCKS5_REPLY_4: 'the proxy found no route to it (SOCKS5 reply 4)',
  UND_ERR_SOCKS5_REPLY_3: 'the proxy found no route to its network (SOCKS5 reply 3)',
}

/**
 * Why a file that failed for good (`code`, its cause's code `cause`) says its host is out of
 * reach, or `undefined`: a connect failure of its own (`network`), or a SOCKS5 proxy's reply that
 * it could not reach the host (`proxy`). Pure, table-tested (test/policies.test.ts).
 */
export function outOfReachWords(code: string, cause: string): string | undefined {
  if (code === 'network') return OUT_OF_REACH[cause]
  if (code === 'proxy') return SOCKS_OUT_OF_REACH[cause]
  return undefined
}
