/**
 * PLACEHOLDER, replaced by the structural completeness checks (issue 10, case 3) when they land:
 * the interface the download path uses. Until then every body counts as complete.
 */
export type Verdict = { complete: true } | { complete: false; reason: string }

export interface CompletenessCheck {
  update(chunk: Uint8Array): void
  end(read: (offset: number, length: number) => Promise<Uint8Array>): Promise<Verdict>
}

export function completenessCheck(_ext: string): CompletenessCheck {
  return { update() {}, end: async () => ({ complete: true }) }
}
