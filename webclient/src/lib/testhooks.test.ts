import { describe, expect, it } from 'vitest'
import { TEST_FLAG_KEY, expose, flagSet, testHooks } from './testhooks'

const store = (v: string | null) => ({ getItem: (k: string) => (k === TEST_FLAG_KEY ? v : null) })

describe('test hooks flag', () => {
  it('is on only for the exact value "1"', () => {
    expect(flagSet(store('1'))).toBe(true)
    for (const v of [null, '', '0', 'true', 'yes', ' 1']) expect(flagSet(store(v))).toBe(false)
  })
  it('reads storage errors and missing storage as off', () => {
    expect(flagSet(undefined)).toBe(false)
    expect(flagSet({ getItem: () => { throw new Error('SecurityError') } })).toBe(false)
  })
  it('is off where there is no localStorage (node)', () => {
    expect(testHooks).toBe(false)
  })
  it('exposes a handle only when on', () => {
    const w: Record<string, unknown> = {}
    expose('__mb', 1, false, w)
    expect('__mb' in w).toBe(false)
    expose('__mb', 2, true, w)
    expect(w.__mb).toBe(2)
  })
})
