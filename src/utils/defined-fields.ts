/**
 * The fields of `o` that hold a value: those set to `undefined` left out, so that spreading the
 * result over defaults keeps the defaults (`{ ...defaults, ...definedFields(o) }`), as a caller who wrote
 * `{ size: maybe }` means. `{}` for `undefined`. Pure; `o` is not changed.
 */
export function definedFields<T extends object>(
  o: T | undefined,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
}
