// Test hooks: handles on the live document and sessions that the end-to-end
// tests drive (window.__mb, __mbFrames, __mbPreview, ...). They are exposed
// only when the page was opened with the e2e flag, so the production bundle
// the tests run against is the one users get, without the handles.
//
// The flag is the localStorage key `mb.e2e` set to "1" before the app loads
// (the e2e harness does it with context.addInitScript). It is read once, at
// start-up: setting it later has no effect until the next load.

/** The localStorage key that turns the test hooks on. */
export const TEST_FLAG_KEY = 'mb.e2e'

/** Whether a storage holds the e2e flag; any error (storage disabled) reads as off. */
export function flagSet(storage: Pick<Storage, 'getItem'> | undefined | null): boolean {
  try {
    return storage?.getItem(TEST_FLAG_KEY) === '1'
  } catch {
    return false
  }
}

/** Whether this page load exposes the test hooks (read once). */
export const testHooks: boolean = flagSet(typeof localStorage === 'undefined' ? undefined : localStorage)

/** Sets window[name] = value when the test hooks are on; does nothing otherwise. */
export function expose(name: string, value: unknown, on: boolean = testHooks, target: object | undefined = typeof window === 'undefined' ? undefined : window): void {
  if (!on || !target) return
  ;(target as Record<string, unknown>)[name] = value
}
